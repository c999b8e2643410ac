import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from ipaddress import ip_network
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ingestion.app import create_app
from models import Campaign, CampaignOffer, Offer
from models.click_ids import click_time
from models.enums import RecordStatus
from models.settings import Settings
from tests.ingestion.conftest import Client, TrackedCampaign, click, count

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


async def test_redirect_fills_the_offer_macros_and_sets_the_cookie(
    client_at, campaign: TrackedCampaign
):
    async with client_at("203.0.113.7", country_header="CF-IPCountry") as client:
        response = await client.get(
            "/c/summer?sub1=banner%201&keyword=shoes&gclid=G-123",
            headers={"CF-IPCountry": "de", "User-Agent": IPHONE},
            follow_redirects=False,
        )
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    query = parse_qs(location.query)
    click_id = query["cid"][0]
    assert location.netloc == "offer.example"
    assert query["s1"] == ["banner 1"]
    assert query["kw"] == ["shoes"]
    assert query["c"] == [str(campaign.campaign_id)]
    assert query["src"] == ["PushNet"]
    assert query["geo"] == ["DE"]
    assert click_time(click_id) is not None
    assert response.cookies["ct_click"] == click_id
    assert response.headers["cache-control"] == "no-store"


async def test_click_row_holds_the_visitor_facts(
    client_at, session: AsyncSession, campaign: TrackedCampaign
):
    async with client_at("203.0.113.7", country_header="CF-IPCountry") as client:
        click_id = await click(
            client,
            query="sub1=a&sub20=z&gclid=G-9",
            **{"User-Agent": IPHONE, "Referer": "https://news.example/", "CF-IPCountry": "FR"},
        )
    row = (
        await session.execute(text("SELECT * FROM clicks WHERE id = :id"), {"id": click_id})
    ).one()
    assert row.workspace_id == campaign.workspace_id
    assert row.campaign_id == campaign.campaign_id
    assert row.offer_id == campaign.offer_id
    assert row.traffic_source_id == campaign.source_id
    assert str(row.ip) == "203.0.113.7"
    assert (row.device_type, row.os, row.browser, row.is_bot) == (
        "mobile",
        "iOS",
        "Mobile Safari",
        False,
    )
    assert row.country == "FR"
    assert row.referrer == "https://news.example/"
    assert (row.sub1, row.sub2, row.sub20) == ("a", None, "z")
    assert row.external_id == "G-9"
    assert row.cost == Decimal("0.05")
    assert row.params == {"sub1": "a", "sub20": "z", "gclid": "G-9"}
    assert row.created_at == click_time(click_id)


async def test_a_repeat_visitor_within_the_window_is_not_unique(
    client_at, session: AsyncSession, campaign: TrackedCampaign
):
    async with client_at("198.51.100.1") as first, client_at("198.51.100.2") as other:
        ids = [
            await click(first, **{"User-Agent": IPHONE}),
            await click(first, **{"User-Agent": IPHONE}),
            await click(first, **{"User-Agent": "curl/8"}),
            await click(other, **{"User-Agent": IPHONE}),
        ]
    rows: dict[str, object] = dict(
        (await session.execute(text("SELECT id, is_unique FROM clicks"))).all()
    )
    assert [rows[i] for i in ids] == [True, False, True, True]


async def test_bots_are_flagged(client_at, session: AsyncSession, campaign: TrackedCampaign):
    async with client_at("66.249.66.1") as client:
        click_id = await click(
            client,
            **{
                "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
            },
        )
    assert (
        await count(session, "SELECT count(*) FROM clicks WHERE id = :id AND is_bot", id=click_id)
        == 1
    )


async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    client_at, session: AsyncSession, campaign: TrackedCampaign
):
    headers = {"X-Forwarded-For": "1.1.1.1, 203.0.113.50"}
    async with client_at("10.0.0.5", trusted_proxies=[ip_network("10.0.0.0/8")]) as proxied:
        behind_proxy = await click(proxied, **headers)
    async with client_at("198.51.100.9") as direct:
        spoofed = await click(direct, **headers)
    ips: dict[str, object] = dict(
        (await session.execute(text("SELECT id, host(ip) FROM clicks"))).all()
    )
    assert ips[behind_proxy] == "203.0.113.50"
    assert ips[spoofed] == "198.51.100.9"


async def test_unknown_and_paused_campaigns_answer_404_and_record_nothing(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    response = await ingestion_client.get("/c/nope", follow_redirects=False)
    assert response.status_code == 404
    assert "no active campaign" in response.text
    row = await session.get(Campaign, (campaign.workspace_id, campaign.campaign_id))
    assert row is not None
    row.status = RecordStatus.PAUSED
    await session.commit()
    ingestion_client.app.state.directory.clear()
    response = await ingestion_client.get("/c/summer", follow_redirects=False)
    assert response.status_code == 404
    assert await count(session, "SELECT count(*) FROM clicks") == 0


async def test_a_campaign_whose_offers_are_paused_answers_404_and_records_nothing(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    offer = await session.get(Offer, (campaign.workspace_id, campaign.offer_id))
    assert offer is not None
    offer.status = RecordStatus.PAUSED
    await session.commit()
    response = await ingestion_client.get("/c/summer", follow_redirects=False)
    assert response.status_code == 404
    assert "no active offer" in response.text
    assert await count(session, "SELECT count(*) FROM clicks") == 0


async def test_a_key_outside_the_key_alphabet_answers_404_without_a_lookup():
    # No database to ask: a lookup would answer 503.
    dead = Settings(database_url="postgresql://postgres@127.0.0.1:1/none", _env_file=None)
    async with AsyncTestClient(app=create_app(dead)) as client:
        for key in ("sum%00mer", "abc", "x" * 65, "sum.mer", "%C3%A9t%C3%A9"):
            response = await client.get(f"/c/{key}", follow_redirects=False)
            assert response.status_code == 404, key
            assert "no active campaign" in response.text


async def test_a_nul_in_a_visitor_header_answers_400_and_records_nothing(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    for header in ("User-Agent", "Referer"):
        response = await ingestion_client.get(
            "/c/summer", headers={header: "a\x00b"}, follow_redirects=False
        )
        assert response.status_code == 400, header
        assert "NUL" in response.text
    assert await count(session, "SELECT count(*) FROM clicks") == 0


async def test_weighted_offers_rotate(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    second = Offer(
        workspace_id=campaign.workspace_id, name="Other", url="https://two.example/?cid={clickid}"
    )
    session.add(second)
    await session.flush()
    assert second.id is not None
    session.add(
        CampaignOffer(
            workspace_id=campaign.workspace_id,
            campaign_id=campaign.campaign_id,
            offer_id=second.id,
            weight=100,
        )
    )
    await session.commit()
    hosts = set()
    for _ in range(40):
        response = await ingestion_client.get("/c/summer", follow_redirects=False)
        hosts.add(urlsplit(response.headers["location"]).netloc)
    assert hosts == {"offer.example", "two.example"}
    assert await count(session, "SELECT count(DISTINCT offer_id) FROM clicks") == 2


async def test_hostile_parameters_are_refused_and_record_nothing(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    for query in [
        "sub1=%00",
        "sub1=%ff%fe",
        "sub1=" + "x" * 10_000,
        "&".join(f"p{i}=1" for i in range(101)),
    ]:
        response = await ingestion_client.get(f"/c/summer?{query}", follow_redirects=False)
        assert response.status_code == 400, query[:40]
    assert await count(session, "SELECT count(*) FROM clicks") == 0


async def test_sql_in_parameters_is_stored_as_data(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    payload = "1'); DROP TABLE clicks; --"
    click_id = await click(ingestion_client, query=f"sub1={payload}")
    assert (
        await count(
            session,
            "SELECT count(*) FROM clicks WHERE id = :id AND sub1 = :p",
            id=click_id,
            p=payload,
        )
        == 1
    )


async def test_a_click_that_cannot_be_committed_is_not_redirected():
    dead = Settings(database_url="postgresql://postgres@127.0.0.1:1/none", _env_file=None)
    async with AsyncTestClient(app=create_app(dead)) as client:
        response = await client.get("/c/summer", follow_redirects=False)
    assert response.status_code == 503
    assert "could not be recorded" in response.text


async def test_buffered_mode_answers_first_and_writes_within_the_window(
    client_at, session: AsyncSession, campaign: TrackedCampaign
):
    async with client_at("192.0.2.1", click_durability="buffered", click_flush_ms=200) as client:
        click_id = await click(client)
        assert await count(session, "SELECT count(*) FROM clicks") == 0
        await asyncio.sleep(0.6)
        assert await count(session, "SELECT count(*) FROM clicks WHERE id = :id", id=click_id) == 1
        second = await click(client)
    # Stopping the app flushes what is still buffered.
    assert await count(session, "SELECT count(*) FROM clicks WHERE id = :id", id=second) == 1


async def test_fingerprints_older_than_the_window_are_forgotten(
    settings: Settings, session: AsyncSession, campaign: TrackedCampaign
):
    await session.execute(
        text(
            """
            INSERT INTO click_fingerprints (workspace_id, campaign_id, fingerprint, last_click_at)
            VALUES (:w, :c, 'old', now() - interval '2 days'), (:w, :c, 'new', now())
            """
        ),
        {"w": campaign.workspace_id, "c": campaign.campaign_id},
    )
    await session.commit()
    async with AsyncTestClient(app=create_app(settings)):
        await asyncio.sleep(0.3)
    assert await count(session, "SELECT count(*) FROM click_fingerprints") == 1


async def test_repeated_forwarded_for_headers_are_read_as_one_chain(
    client_at, session: AsyncSession, campaign: TrackedCampaign
):
    headers = [("X-Forwarded-For", "1.1.1.1"), ("X-Forwarded-For", "203.0.113.60, 10.0.0.9")]
    async with client_at("10.0.0.5", trusted_proxies=[ip_network("10.0.0.0/8")]) as client:
        response = await client.get("/c/summer", headers=headers, follow_redirects=False)
    assert response.status_code == 302
    assert await count(session, "SELECT count(*) FROM clicks WHERE host(ip) = '203.0.113.60'") == 1


async def test_a_visitor_seen_by_another_worker_is_not_unique(
    client_at, session: AsyncSession, campaign: TrackedCampaign
):
    async with client_at("198.51.100.7") as first_worker:
        first = await click(first_worker, **{"User-Agent": IPHONE})
    async with client_at("198.51.100.7") as second_worker:
        second = await click(second_worker, **{"User-Agent": IPHONE})
    result = await session.execute(text("SELECT id, is_unique FROM clicks"))
    unique: dict[str, object] = dict(result.all())
    assert (unique[first], unique[second]) == (True, False)


@pytest.mark.parametrize(
    ("base_url", "public_url", "same_site"),
    [
        ("http://testserver.local", None, ["SameSite=Lax"]),
        # A pixel on the advertiser's site is cross-site: only SameSite=None travels with it.
        ("https://trk.example", None, ["SameSite=None", "Secure"]),
        # Behind a TLS-terminating proxy the request arrives as http.
        ("http://testserver.local", "https://trk.example", ["SameSite=None", "Secure"]),
        ("http://testserver.local", "http://trk.example", ["SameSite=Lax"]),
    ],
)
async def test_the_click_cookie_attributes(
    settings: Settings,
    campaign: TrackedCampaign,
    base_url: str,
    public_url: str | None,
    same_site: list[str],
):
    app = create_app(
        settings.model_copy(update={"public_url": public_url, "cookie_max_age_days": 7})
    )
    async with AsyncTestClient(app=app, base_url=base_url) as client:
        response = await client.get("/c/summer", follow_redirects=False)
    click_id = parse_qs(urlsplit(response.headers["location"]).query)["cid"][0]
    assert response.headers["set-cookie"].split("; ") == [
        f"ct_click={click_id}",
        "Max-Age=604800",
        "Path=/",
        "HttpOnly",
        *same_site,
    ]


async def test_the_unique_window_is_the_configured_number_of_hours(
    client_at, session: AsyncSession, campaign: TrackedCampaign
):
    async def clicks_from(client: Client, *ips: str) -> list[str]:
        response = await client.post(
            "/clicks",
            json=[{"campaign_key": campaign.key, "ip": ip, "user_agent": IPHONE} for ip in ips],
        )
        assert response.status_code == 201, response.text
        return [item["click_id"] for item in response.json()]

    async with client_at("10.0.0.1") as server:
        await clicks_from(server, "198.51.100.1")
    # The app has stopped, so the visitor is recorded: this fingerprint is the first visitor's.
    first = (await session.execute(text("SELECT fingerprint FROM click_fingerprints"))).scalar()
    async with client_at("10.0.0.1") as server:
        await clicks_from(server, "198.51.100.2")
    # Both visitors clicked before: the first 3 hours ago, the second 1 hour ago.
    # Times computed here: Citus refuses a multi-shard UPDATE whose STABLE operator (timestamptz
    # minus interval) takes a column, and mis-deparses a parameterised CASE x WHEN.
    now = datetime.now(UTC)
    await session.execute(
        text(
            "UPDATE click_fingerprints SET last_click_at = CASE WHEN fingerprint = :first "
            "THEN CAST(:three_hours_ago AS timestamptz) ELSE CAST(:an_hour_ago AS timestamptz) END"
        ),
        {
            "first": first,
            "three_hours_ago": now - timedelta(hours=3),
            "an_hour_ago": now - timedelta(hours=1),
        },
    )
    await session.commit()
    async with client_at("10.0.0.1", unique_window_hours=2) as server:
        ids = await clicks_from(server, "198.51.100.1", "198.51.100.2")
        ids += await clicks_from(server, "198.51.100.1")
    rows = await session.execute(text("SELECT id, is_unique FROM clicks"))
    unique: dict[str, object] = dict(rows.all())
    # Past the 2-hour window the first visitor is unique again, and then not within it.
    assert [unique[i] for i in ids] == [True, False, False]
