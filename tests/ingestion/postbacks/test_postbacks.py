import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import ANY

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from api.workspaces.service import rotate_postback_secret
from ingestion.postbacks.signature import HEADER, sign
from models import Campaign, CurrencyRate, Workspace
from models.templates import tracking_templates
from tests.ingestion.conftest import (
    Client,
    TrackedCampaign,
    click,
    count,
    insert_click,
    postback,
)


async def _events(session: AsyncSession) -> list[tuple[str, str, str, Decimal]]:
    rows = await session.execute(
        text(
            "SELECT t.name, e.txid, e.status, e.amount FROM conversion_events e "
            "JOIN conversion_types t ON t.workspace_id = e.workspace_id AND t.id = e.type_id "
            "ORDER BY e.id"
        )
    )
    return [tuple(row) for row in rows.all()]


async def _log(session: AsyncSession) -> list[tuple[str, str, int]]:
    rows = await session.execute(
        text("SELECT outcome, reason, http_status FROM postback_log ORDER BY id")
    )
    return [tuple(row) for row in rows.all()]


@pytest.mark.parametrize("click_param", ["clickid", "cid", "subid", "click_id"])
@pytest.mark.parametrize("amount_param", ["sum", "payout", "revenue", "amount"])
async def test_every_click_id_and_amount_alias_is_understood(
    ingestion_client: Client,
    session: AsyncSession,
    campaign: TrackedCampaign,
    click_param: str,
    amount_param: str,
):
    click_id = await click(ingestion_client)
    status, body = await postback(
        ingestion_client, campaign.secret, **{click_param: click_id, amount_param: "3.2"}
    )
    assert (status, body["result"]) == (200, "accepted")
    assert await _events(session) == [("conversion", "", "approved", Decimal("3.2"))]


@pytest.mark.parametrize("txid_param", ["txid", "tid", "transaction_id"])
@pytest.mark.parametrize("type_param", ["type", "et"])
async def test_every_txid_and_type_alias_is_understood(
    ingestion_client: Client,
    session: AsyncSession,
    campaign: TrackedCampaign,
    txid_param: str,
    type_param: str,
):
    click_id = await click(ingestion_client)
    status, _ = await postback(
        ingestion_client,
        campaign.secret,
        clickid=click_id,
        **{type_param: "transaction", txid_param: "T-1"},
        sum="1",
    )
    assert status == 200
    assert await _events(session) == [("transaction", "T-1", "approved", Decimal("1"))]


async def _funnel(client: Client, secret: str, first: dict[str, str]) -> tuple[str, list[int]]:
    """Click, primary event, two transactions, each sent twice (a network's retries)."""
    click_id = await click(client)
    statuses = []
    steps = [
        first,
        {"type": "transaction", "txid": "T1", "sum": "10"},
        {"type": "transaction", "txid": "T2", "sum": "15.5"},
    ]
    for step in steps:
        for _ in range(2):
            status, _body = await postback(client, secret, clickid=click_id, **step)
            statuses.append(status)
    return click_id, statuses


async def test_cpi_funnel_install_then_level(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    _, statuses = await _funnel(ingestion_client, campaign.secret, {"sum": "1.2"})
    assert statuses == [200] * 6
    assert await _events(session) == [
        ("conversion", "", "approved", Decimal("1.2")),
        ("transaction", "T1", "approved", Decimal("10")),
        ("transaction", "T2", "approved", Decimal("15.5")),
    ]
    assert [
        r
        for (r,) in (
            await session.execute(text("SELECT reason FROM postback_log ORDER BY id"))
        ).all()
    ] == [
        "accepted",
        "duplicate",
        "accepted",
        "duplicate",
        "accepted",
        "duplicate",
    ]


async def test_ecommerce_funnel_several_purchases(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    await _funnel(ingestion_client, campaign.secret, {"sum": "49.90", "txid": "ORDER-1"})
    events = await _events(session)
    assert [e[0] for e in events] == ["conversion", "transaction", "transaction"]
    assert sum(e[3] for e in events) == Decimal("75.40")


async def test_cpl_funnel_signup_then_lead(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    await _funnel(ingestion_client, campaign.secret, {"status": "pending", "sum": "0"})
    assert (await _events(session))[0] == ("conversion", "", "pending", Decimal("0"))
    assert await count(session, "SELECT count(*) FROM conversion_events") == 3


async def test_multistep_form_pixels_with_the_cookie_only(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    click_id = await click(ingestion_client)  # the client keeps the ct_click cookie
    responses = [
        await ingestion_client.get(f"/pixel/{campaign.secret}.gif"),
        await ingestion_client.get(f"/pixel/{campaign.secret}.gif?type=transaction&txid=step2"),
        await ingestion_client.get(f"/pixel/{campaign.secret}.gif?type=transaction&txid=step2"),
    ]
    for response in responses:
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/gif"
        assert response.content.startswith(b"GIF89a")
        assert "no-store" in response.headers["cache-control"]
    assert [r.headers["x-clicktrail-result"] for r in responses] == [
        "accepted",
        "accepted",
        "duplicate",
    ]
    assert (
        await count(
            session, "SELECT count(*) FROM conversion_events WHERE click_id = :c", c=click_id
        )
        == 2
    )
    assert await count(session, "SELECT count(*) FROM postback_log WHERE kind = 'pixel'") == 3


async def test_pixel_answers_the_gif_even_when_refusing(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    response = await ingestion_client.get("/pixel/wrong-secret.gif?clickid=x")
    assert response.status_code == 200
    assert response.content.startswith(b"GIF89a")
    assert response.headers["x-clicktrail-result"] == "bad_secret"
    assert await _log(session) == [("rejected", "bad_secret", 403)]


async def test_status_moves_from_pending_to_approved(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    click_id = await click(ingestion_client)
    await postback(ingestion_client, campaign.secret, clickid=click_id, status="pending", sum="5")
    status, body = await postback(
        ingestion_client, campaign.secret, clickid=click_id, status="approved"
    )
    assert (status, body["result"]) == (200, "updated")
    assert await _events(session) == [("conversion", "", "approved", Decimal("5"))]
    # A chargeback.
    status, body = await postback(
        ingestion_client, campaign.secret, clickid=click_id, status="declined"
    )
    assert (status, body["result"]) == (200, "updated")


async def test_illegal_status_change_is_refused_with_a_reason(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    click_id = await click(ingestion_client)
    await postback(ingestion_client, campaign.secret, clickid=click_id, status="declined")
    status, body = await postback(
        ingestion_client, campaign.secret, clickid=click_id, status="approved"
    )
    assert status == 409
    assert body == {
        "error": "illegal_status_change",
        "detail": "status cannot change from declined to approved",
        "request_id": ANY,
    }
    assert (await _events(session))[0][2] == "declined"
    assert (await _log(session))[-1] == ("rejected", "illegal_status_change", 409)


async def test_network_status_words_map_through_aliases(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    await session.execute(
        update(Workspace)
        .where(col(Workspace.id) == campaign.workspace_id)
        .values(status_aliases={"1": "approved", "rejected": "declined"})
    )
    await session.commit()
    click_id = await click(ingestion_client)
    assert (await postback(ingestion_client, campaign.secret, clickid=click_id, status="1"))[
        0
    ] == 200
    status, body = await postback(
        ingestion_client, campaign.secret, clickid=click_id, status="maybe"
    )
    assert (status, body["error"]) == (400, "bad_status")


async def test_update_and_add_amount_policies(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    await session.execute(
        text(
            """
            INSERT INTO conversion_types
                (workspace_id, name, counts_as_conversion, counts_in_revenue, duplicate_policy)
            VALUES (:w, 'deposit', false, true, 'add_amount'),
                   (:w, 'subscription', false, true, 'update')
            """
        ),
        {"w": campaign.workspace_id},
    )
    await session.commit()
    click_id = await click(ingestion_client)

    async def send(**params: str) -> tuple[int, dict[str, Any]]:
        return await postback(ingestion_client, campaign.secret, clickid=click_id, **params)

    assert (await send(type="deposit", txid="d1", sum="10"))[1]["result"] == "accepted"
    assert (await send(type="deposit", txid="d2", sum="5"))[1]["result"] == "updated"
    # A network retries any earlier addition, not only the last one.
    assert (await send(type="deposit", txid="d1", sum="10"))[1]["result"] == "duplicate"
    assert (await send(type="deposit", txid="d2", sum="5"))[1]["result"] == "duplicate"
    assert (await send(type="subscription", sum="9.99"))[1]["result"] == "accepted"
    assert (await send(type="subscription", sum="19.99"))[1]["result"] == "updated"
    assert (await send(type="subscription", sum="19.99"))[1]["result"] == "duplicate"
    assert [(e[0], e[3]) for e in await _events(session)] == [
        ("deposit", Decimal("15")),
        ("subscription", Decimal("19.99")),
    ]


async def test_missing_amount_takes_the_offer_payout(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    click_id = await click(ingestion_client)
    await postback(ingestion_client, campaign.secret, clickid=click_id)
    assert (await _events(session))[0][3] == Decimal("2.5")


async def test_unknown_click(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    other_id = (await click(ingestion_client))[:-8] + "00000000"
    status, body = await postback(ingestion_client, campaign.secret, clickid=other_id)
    assert (status, body["error"]) == (404, "unknown_click")
    status, body = await postback(ingestion_client, campaign.secret, clickid="{clickid}")
    assert (status, body["error"]) == (404, "unknown_click")
    status, body = await postback(ingestion_client, campaign.secret, sum="1")
    assert (status, body["error"]) == (400, "missing_click_id")
    assert await count(session, "SELECT count(*) FROM conversion_events") == 0
    assert [row[1] for row in await _log(session)] == [
        "unknown_click",
        "unknown_click",
        "missing_click_id",
    ]


async def test_a_click_id_whose_time_is_past_the_year_9999_is_a_logged_unknown_click(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    never_issued = "f" * 44
    url = f"/postback/{campaign.secret}"
    answers = [
        await ingestion_client.get(url, params={"clickid": never_issued}),
        await ingestion_client.post(url, data={"clickid": never_issued}),
        await ingestion_client.post(url, json={"clickid": never_issued}),
    ]
    for response in answers:
        assert (response.status_code, response.json()["error"]) == (404, "unknown_click")
        assert "is not a clicktrail click id" in response.json()["detail"]
    pixel = await ingestion_client.get(f"/pixel/{campaign.secret}.gif?clickid={never_issued}")
    assert pixel.content.startswith(b"GIF89a")
    assert pixel.headers["x-clicktrail-result"] == "unknown_click"
    assert await _log(session) == [("rejected", "unknown_click", 404)] * 4


async def test_a_click_of_another_workspace_is_unknown(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    from api.workspaces.service import create_workspace

    other = await create_workspace(session, name="Other")
    await session.commit()
    click_id = await click(ingestion_client)
    status, body = await postback(ingestion_client, other.postback_secret, clickid=click_id)
    assert (status, body["error"]) == (404, "unknown_click")


async def test_bad_secret(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    click_id = await click(ingestion_client)
    status, body = await postback(ingestion_client, "not-the-secret", clickid=click_id)
    assert (status, body["error"]) == (403, "bad_secret")
    assert (
        await count(
            session,
            "SELECT count(*) FROM postback_log WHERE workspace_id = 0 AND reason = 'bad_secret'",
        )
        == 1
    )


async def test_a_rotated_secret_works_through_its_grace_period(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    click_id = await click(ingestion_client)
    new = await rotate_postback_secret(
        session, workspace_id=campaign.workspace_id, grace=timedelta(hours=1)
    )
    await session.commit()
    for secret in (campaign.secret, new):
        status, _ = await postback(
            ingestion_client, secret, clickid=click_id, type="transaction", txid=secret
        )
        assert status == 200
    newest = await rotate_postback_secret(
        session, workspace_id=campaign.workspace_id, grace=timedelta(0)
    )
    await session.commit()
    ingestion_client.app.state.workspaces.clear()  # skip the 5-second cache
    for secret, expected in ((campaign.secret, 403), (new, 403), (newest, 200)):
        status, _ = await postback(ingestion_client, secret, clickid=click_id)
        assert status == expected, secret


async def test_ip_allowlist(client_at, session: AsyncSession, campaign: TrackedCampaign):
    await session.execute(
        update(Workspace)
        .where(col(Workspace.id) == campaign.workspace_id)
        .values(ip_allowlist=["198.51.100.0/24"])
    )
    await session.commit()
    async with client_at("198.51.100.20") as allowed, client_at("203.0.113.1") as stranger:
        click_id = await click(allowed)
        status, body = await postback(stranger, campaign.secret, clickid=click_id)
        assert (status, body["error"]) == (403, "ip_not_allowed")
        assert "203.0.113.1" in body["detail"]
        status, body = await postback(allowed, campaign.secret, clickid=click_id)
        assert (status, body["result"]) == (200, "accepted")
    # The refusal is in the workspace's own log, where its users look for it.
    logged = await session.execute(
        text("SELECT workspace_id, reason FROM postback_log ORDER BY id")
    )
    assert [tuple(row) for row in logged] == [
        (campaign.workspace_id, "ip_not_allowed"),
        (campaign.workspace_id, "accepted"),
    ]


async def test_signed_postbacks(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    await _require_signatures(session, campaign)
    click_id = await click(ingestion_client)
    body = f"clickid={click_id}&sum=7".encode()
    now = int(time.time())
    form: dict[str, str | bytes] = {"Content-Type": "application/x-www-form-urlencoded"}
    cases: list[tuple[dict[str, str | bytes], int]] = [
        ({}, 401),
        ({HEADER: sign("wrong", now, body)}, 401),
        ({HEADER: sign("s3cret", now - 600, body)}, 401),
        ({HEADER: "garbage"}, 401),
        # The time in plain ASCII digits: no overflow (t=10^400), no sign, _ or other digits.
        ({HEADER: f"t=1{'0' * 400},v1=00"}, 401),
        ({HEADER: f"t=+{now},v1=00"}, 401),
        ({HEADER: f"t={now:_},v1=00"}, 401),
        # Headers arrive as latin-1 text: a non-ASCII digest is refused, not a crash.
        ({HEADER: f"t={now},v1=\u00e9".encode("latin-1")}, 401),
        ({HEADER: sign("s3cret", now, body)}, 200),
    ]
    for headers, expected in cases:
        response = await ingestion_client.post(
            f"/postback/{campaign.secret}",
            content=body,
            headers={
                name.encode(): value if isinstance(value, bytes) else value.encode()
                for name, value in {**form, **headers}.items()
            },
        )
        assert response.status_code == expected, (headers, response.text)
        if expected == 401:
            assert response.json()["error"] == "bad_signature"
    assert await count(session, "SELECT count(*) FROM conversion_events") == 1
    assert await count(session, "SELECT count(*) FROM postback_log") == len(cases)


async def _require_signatures(session: AsyncSession, campaign: TrackedCampaign) -> None:
    await session.execute(
        update(Workspace)
        .where(col(Workspace.id) == campaign.workspace_id)
        .values(signing_secret="s3cret")
    )
    await session.commit()


async def test_signed_gets_and_bodiless_posts_sign_the_query_string(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    await _require_signatures(session, campaign)
    click_id = await click(ingestion_client)
    query = f"clickid={click_id}&type=transaction&txid=T-1&sum=3"
    signed = {HEADER: sign("s3cret", int(time.time()), query.encode())}
    url = f"/postback/{campaign.secret}?{query}"
    assert (await ingestion_client.get(url, headers=signed)).json()["result"] == "accepted"
    assert (await ingestion_client.post(url, headers=signed)).json()["result"] == "duplicate"
    tampered = await ingestion_client.get(f"{url}&status=declined", headers=signed)
    assert (tampered.status_code, tampered.json()["error"]) == (401, "bad_signature")
    assert [e[2] for e in await _events(session)] == ["approved"]


async def test_a_signed_post_may_not_add_unsigned_query_parameters(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    await _require_signatures(session, campaign)
    click_id = await click(ingestion_client)
    body = f"clickid={click_id}&sum=7".encode()
    response = await ingestion_client.post(
        f"/postback/{campaign.secret}?type=transaction&txid=N",
        content=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            HEADER: sign("s3cret", int(time.time()), body),
        },
    )
    assert (response.status_code, response.json()["error"]) == (400, "unsigned_query")
    assert await _log(session) == [("rejected", "unsigned_query", 400)]
    assert await count(session, "SELECT count(*) FROM conversion_events") == 0


@pytest.mark.parametrize(
    "restriction", [{"ip_allowlist": ["198.51.100.0/24"]}, {"signing_secret": "s3cret"}]
)
async def test_a_workspace_that_restricts_its_reporters_refuses_pixels(
    client_at, session: AsyncSession, campaign: TrackedCampaign, restriction: dict[str, Any]
):
    async with client_at("198.51.100.20") as browser:
        click_id = await click(browser)
        await session.execute(
            update(Workspace)
            .where(col(Workspace.id) == campaign.workspace_id)
            .values(**restriction)
        )
        await session.commit()
    # A fresh app: the workspace cache would hold the old rules for a few seconds.
    async with client_at("198.51.100.20") as browser:
        pixel = await browser.get(f"/pixel/{campaign.secret}.gif?clickid={click_id}&sum=9")
        assert pixel.status_code == 200
        assert pixel.headers["content-type"] == "image/gif"
        assert pixel.headers["x-clicktrail-result"] == "pixel_not_allowed"
    assert await _events(session) == []
    logged = await session.execute(
        text("SELECT workspace_id, kind, reason, http_status FROM postback_log")
    )
    assert [tuple(row) for row in logged] == [
        (campaign.workspace_id, "pixel", "pixel_not_allowed", 403)
    ]


@pytest.mark.parametrize("secret", ["ab%00cd", "%00" * 32, "a" * 33, "ab%FFcd"])
async def test_a_malformed_secret_is_a_logged_bad_secret(
    ingestion_client: Client, session: AsyncSession, secret: str
):
    response = await ingestion_client.get(f"/postback/{secret}?clickid=x%00")
    assert (response.status_code, response.json()["error"]) == (403, "bad_secret")
    pixel = await ingestion_client.get(f"/pixel/{secret}.gif?clickid=x")
    assert pixel.status_code == 200
    assert pixel.headers["x-clicktrail-result"] == "bad_secret"
    rows = await session.execute(
        text("SELECT workspace_id, kind, reason, http_status, query FROM postback_log ORDER BY id")
    )
    assert [tuple(r) for r in rows.all()] == [
        (0, "postback", "bad_secret", 403, "clickid=x%00"),
        (0, "pixel", "bad_secret", 403, "clickid=x"),
    ]


async def test_post_with_form_and_json_bodies(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    click_id = await click(ingestion_client)
    form = await ingestion_client.post(
        f"/postback/{campaign.secret}", data={"clickid": click_id, "sum": "4"}
    )
    assert form.json()["result"] == "accepted"
    json_body = await ingestion_client.post(
        f"/postback/{campaign.secret}",
        json={"cid": click_id, "type": "transaction", "txid": 7, "sum": 2.5},
    )
    assert json_body.json()["result"] == "accepted"
    xml = await ingestion_client.post(
        f"/postback/{campaign.secret}", content=b"<x/>", headers={"Content-Type": "text/xml"}
    )
    assert (xml.status_code, xml.json()["error"]) == (415, "unsupported_media_type")
    assert [e[3] for e in await _events(session)] == [Decimal("4"), Decimal("2.5")]


async def test_outside_the_attribution_window(
    ingestion_client: Client, session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    old = await insert_click(session, engine, campaign, datetime.now(UTC) - timedelta(days=31))
    status, body = await postback(ingestion_client, campaign.secret, clickid=old)
    assert (status, body["error"]) == (422, "outside_window")
    assert "30-day" in body["detail"]


async def test_a_chargeback_after_the_window_updates_the_stored_conversion(
    ingestion_client: Client, session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    click_at = datetime.now(UTC) - timedelta(days=60)
    click_id = await insert_click(session, engine, campaign, click_at)
    # Approved the day after the click, well inside the 30-day window.
    await session.execute(
        text(
            """
            INSERT INTO conversion_events
                (workspace_id, click_created_at, click_id, type_id, amount, created_at)
            SELECT k.workspace_id, k.created_at, k.id, t.id, 20, k.created_at + interval '1 day'
            FROM clicks k
            JOIN conversion_types t ON t.workspace_id = k.workspace_id AND t.name = 'conversion'
            WHERE k.id = :id
            """
        ),
        {"id": click_id},
    )
    await session.commit()
    status, body = await postback(
        ingestion_client, campaign.secret, clickid=click_id, status="declined"
    )
    assert (status, body["result"]) == (200, "updated")
    status, body = await postback(
        ingestion_client, campaign.secret, clickid=click_id, type="transaction", txid="T-1"
    )
    assert (status, body["error"]) == (422, "outside_window")
    assert await _events(session) == [("conversion", "", "declined", Decimal("20"))]
    assert await _log(session) == [
        ("updated", "updated", 200),
        ("rejected", "outside_window", 422),
    ]


async def test_after_the_window_an_event_changes_status_but_not_amount(
    ingestion_client: Client, session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    await session.execute(
        text(
            "INSERT INTO conversion_types (workspace_id, name, counts_as_conversion, "
            "counts_in_revenue, duplicate_policy) VALUES (:w, 'deposit', false, true, 'add_amount')"
        ),
        {"w": campaign.workspace_id},
    )
    await session.commit()
    click_id = await insert_click(
        session, engine, campaign, datetime.now(UTC) - timedelta(days=200)
    )
    # A deposit recorded on the click's second day, well inside the window.
    await session.execute(
        text(
            """
            INSERT INTO conversion_events (workspace_id, click_created_at, click_id, type_id,
                                           txid, amount, added_txids, created_at)
            SELECT k.workspace_id, k.created_at, k.id, t.id, 'd1', 10, '{d1}',
                   k.created_at + interval '1 day'
            FROM clicks k
            JOIN conversion_types t ON t.workspace_id = k.workspace_id AND t.name = 'deposit'
            WHERE k.id = :id
            """
        ),
        {"id": click_id},
    )
    await session.commit()

    async def send(**params: str) -> tuple[int, dict[str, Any]]:
        return await postback(
            ingestion_client, campaign.secret, clickid=click_id, type="deposit", **params
        )

    assert (await send(txid="d9", sum="500"))[1]["error"] == "outside_window"
    assert (await send(txid="d1", sum="10"))[1]["result"] == "duplicate"
    assert (await send(txid="d1", status="pending"))[1]["error"] == "illegal_status_change"
    assert (await send(txid="d1", status="declined"))[1]["result"] == "updated"
    assert await _events(session) == [("deposit", "d1", "declined", Decimal("10"))]


async def test_currency_is_converted_with_the_stored_rate(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    session.add(
        CurrencyRate(
            workspace_id=campaign.workspace_id,
            currency="EUR",
            valid_from=datetime(2020, 1, 1, tzinfo=UTC),
            rate=Decimal("1.1"),
        )
    )
    await session.commit()
    click_id = await click(ingestion_client)
    status, _ = await postback(
        ingestion_client, campaign.secret, clickid=click_id, sum="10", currency="eur"
    )
    assert status == 200
    row = (
        await session.execute(
            text("SELECT amount, original_amount, original_currency FROM conversion_events")
        )
    ).one()
    assert tuple(row) == (Decimal("11"), Decimal("10"), "EUR")
    status, body = await postback(
        ingestion_client,
        campaign.secret,
        clickid=click_id,
        type="transaction",
        sum="1",
        currency="GBP",
    )
    assert (status, body["error"]) == (422, "unknown_currency")
    status, body = await postback(
        ingestion_client, campaign.secret, clickid=click_id, sum="1", currency="EURO"
    )
    assert (status, body["error"]) == (400, "bad_currency")


async def test_bad_amounts(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    click_id = await click(ingestion_client)
    for amount in ["abc", "-1", "NaN", "Infinity", "1e13", "1,5"]:
        status, body = await postback(
            ingestion_client, campaign.secret, clickid=click_id, sum=amount
        )
        assert (status, body["error"]) == (400, "bad_amount"), amount
    assert await count(session, "SELECT count(*) FROM conversion_events") == 0


NOT_PLAIN_DECIMALS = [
    "1_000", "\u0661\u0662", "-0", "+1", "1e3", " 1", "1 ", "inf", "nan", ".5", "5.", "1.2.3",
    "0x10",
]  # fmt: skip


async def test_an_amount_is_a_plain_decimal_in_every_way_it_arrives(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    click_id = await click(ingestion_client)
    url = f"/postback/{campaign.secret}"
    for amount in NOT_PLAIN_DECIMALS:
        params = {"clickid": click_id, "sum": amount}
        for response in [
            await ingestion_client.get(url, params=params),
            await ingestion_client.post(url, data=params),
            await ingestion_client.post(url, json=params),
        ]:
            assert (response.status_code, response.json()["error"]) == (400, "bad_amount"), amount
            assert "plain decimal" in response.json()["detail"]
        pixel = await ingestion_client.get(f"/pixel/{campaign.secret}.gif", params=params)
        assert pixel.headers["x-clicktrail-result"] == "bad_amount", amount
    # JSON numbers are held to the rule as they were written.
    for number in ["-0", "1e3", "1E3", "-0.0", "2.5e-1"]:
        response = await ingestion_client.post(
            url,
            content=f'{{"clickid": "{click_id}", "sum": {number}}}'.encode(),
            headers={"Content-Type": "application/json"},
        )
        assert (response.status_code, response.json()["error"]) == (400, "bad_amount"), number
    assert await count(session, "SELECT count(*) FROM conversion_events") == 0
    assert await count(
        session, "SELECT count(*) FROM postback_log WHERE reason = 'bad_amount'"
    ) == (4 * len(NOT_PLAIN_DECIMALS) + 5)
    response = await ingestion_client.post(
        url,
        content=f'{{"clickid": "{click_id}", "sum": 4.50}}'.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["result"]) == (200, "accepted")


async def test_a_name_given_twice_in_a_json_body_is_ambiguous(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    click_id = await click(ingestion_client)
    url = f"/postback/{campaign.secret}"
    json_headers = {"Content-Type": "application/json"}
    response = await ingestion_client.post(
        url,
        content=f'{{"clickid": "{click_id}", "sum": 1, "sum": 2}}'.encode(),
        headers=json_headers,
    )
    assert (response.status_code, response.json()["error"]) == (400, "ambiguous_parameter")
    assert "'sum'" in response.json()["detail"]
    # As in a query string, a name repeated with the same value is no conflict.
    response = await ingestion_client.post(
        url,
        content=f'{{"clickid": "{click_id}", "sum": 1, "sum": 1}}'.encode(),
        headers=json_headers,
    )
    assert (response.status_code, response.json()["result"]) == (200, "accepted")
    assert await _log(session) == [
        ("rejected", "ambiguous_parameter", 400),
        ("accepted", "accepted", 200),
    ]
    assert [e[3] for e in await _events(session)] == [Decimal(1)]


async def test_unknown_type(ingestion_client: Client, campaign: TrackedCampaign):
    click_id = await click(ingestion_client)
    status, body = await postback(
        ingestion_client, campaign.secret, clickid=click_id, type="upsell"
    )
    assert (status, body["error"]) == (422, "unknown_type")
    assert "conversion, transaction" in body["detail"]


async def test_conflicting_aliases_are_refused(ingestion_client: Client, campaign: TrackedCampaign):
    click_id = await click(ingestion_client)
    status, body = await postback(
        ingestion_client, campaign.secret, clickid=click_id, sum="1", payout="2"
    )
    assert (status, body["error"]) == (400, "ambiguous_parameter")


async def test_fifty_concurrent_identical_postbacks_store_one_event(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    click_id = await click(ingestion_client)
    results = await asyncio.gather(
        *(
            postback(
                ingestion_client,
                campaign.secret,
                clickid=click_id,
                type="transaction",
                txid="T-9",
                sum="3",
            )
            for _ in range(50)
        )
    )
    assert {status for status, _ in results} == {200}
    assert sorted(body["result"] for _, body in results) == ["accepted"] + ["duplicate"] * 49
    assert await count(session, "SELECT count(*) FROM conversion_events") == 1
    assert await count(session, "SELECT count(*) FROM postback_log") == 50


async def test_a_duplicate_arriving_in_a_later_month_is_still_a_duplicate(
    ingestion_client: Client, session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    await session.execute(update(Campaign).values(attribution_window_days=90))
    await session.commit()
    click_at = datetime.now(UTC) - timedelta(days=45)
    click_id = await insert_click(session, engine, campaign, click_at)
    # The original arrived the day after the click, in the click's month.
    await session.execute(
        text(
            """
            INSERT INTO conversion_events
                (workspace_id, click_created_at, click_id, type_id, txid, dedup_txid, created_at)
            SELECT k.workspace_id, k.created_at, k.id, t.id, 'T-1', 'T-1',
                   k.created_at + interval '1 day'
            FROM clicks k
            JOIN conversion_types t ON t.workspace_id = k.workspace_id AND t.name = 'transaction'
            WHERE k.id = :id
            """
        ),
        {"id": click_id},
    )
    await session.commit()
    status, body = await postback(
        ingestion_client, campaign.secret, clickid=click_id, type="transaction", txid="T-1"
    )
    assert (status, body["result"]) == (200, "duplicate")
    assert await count(session, "SELECT count(*) FROM conversion_events") == 1


@pytest.mark.parametrize(
    "query",
    [
        "clickid=x%00&sum=1",
        "clickid=%ff%fe&sum=1",
        "clickid=" + "a" * 10_240,
        "clickid=1&sum=1'%3B%20DROP%20TABLE%20conversion_events%3B--&txid=" + "b" * 300,
        "&".join(f"p{i}=1" for i in range(101)),
    ],
)
async def test_hostile_values_get_400_and_only_a_log_row(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign, query: str
):
    response = await ingestion_client.get(f"/postback/{campaign.secret}?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["error"] in {"bad_parameters", "bad_amount", "bad_txid"}
    assert await count(session, "SELECT count(*) FROM conversion_events") == 0
    log = (
        await session.execute(text("SELECT outcome, http_status, length(query) FROM postback_log"))
    ).all()
    assert [(r[0], r[1]) for r in log] == [("rejected", 400)]
    assert log[0][2] > 0


async def test_the_templates_are_urls_ingestion_accepts(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    templates = tracking_templates("http://testserver.local", campaign.secret)
    click_id = await click(ingestion_client)
    network = {"{clickid}": click_id, "{payout}": "4.20", "{status}": "approved", "{txid}": "T7"}
    for template in (templates.postback_conversion, templates.postback_transaction):
        url = template
        for macro, value in network.items():
            url = url.replace(macro, value)
        assert (await ingestion_client.get(url)).json()["result"] == "accepted"
    src = templates.pixel_transaction.split('src="')[1].split('"')[0].replace("&amp;", "&")
    src = src.replace("ORDER_ID", "T8").replace("AMOUNT", "9.99")
    assert (await ingestion_client.get(src)).headers["x-clicktrail-result"] == "accepted"
    assert [e[1] for e in await _events(session)] == ["", "T7", "T8"]
