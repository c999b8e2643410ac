"""Forwarding conversions to the traffic source: from a postback to a real HTTP receiver."""

from datetime import UTC, datetime, timedelta
from ipaddress import ip_address

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench.receiver import Receiver
from forwarder import repository
from forwarder.network import refusal
from forwarder.sender import ANSWER_EXCERPT_CHARS
from models import Campaign, Click
from models.database import driver_connection
from models.partition_upkeep import drop_expired
from models.settings import Settings
from tests.forwarder.conftest import forwarder_settings, rows, running, wait_until
from tests.ingestion.conftest import TrackedCampaign, click, insert_click, postback

Client = AsyncTestClient[Litestar]


async def _states(engine: AsyncEngine) -> list[tuple[str, int]]:
    return [
        (r.state, r.attempts)
        for r in await rows(engine, "SELECT state, attempts FROM forwards ORDER BY id")
    ]


async def test_a_conversion_reaches_the_source_with_its_macros_filled(
    ingestion_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
):
    await template_for(
        receiver.url(
            "/ok/pb?ext={external_id}&cid={clickid}&p={payout}&r={revenue}&c={currency}"
            "&t={type}&tx={txid}&st={status}&camp={campaign_id}&s1={sub1}&ev={event_id}"
            "&token=s3cr3tTOKEN123456"
        ),
        payoutShare="50",
    )
    click_id = await click(ingestion_client, query="gclid=EXT-1&sub1=a%20b%26c")
    status, body = await postback(
        ingestion_client, campaign.secret, cid=click_id, payout="10", txid="T1"
    )
    assert status == 200, body
    # In the outbox with the event, before any forwarder ran.
    [queued] = await rows(engine, "SELECT id, state, conversion_event_id FROM forwards")
    assert queued.state == "pending"

    async with running(engine, forwarder_settings(settings)):
        await receiver.wait_for(1)
        await wait_until(lambda: _delivered(engine, 1))

    [request] = receiver.received
    assert request.method == "GET"
    assert request.params == {
        "ext": "EXT-1",
        "cid": click_id,
        "p": "5",
        "r": "10",
        "c": "USD",
        "t": "conversion",
        "tx": "T1",
        "st": "approved",
        "camp": str(campaign.campaign_id),
        "s1": "a b&c",
        "ev": str(queued.id),
        "token": "s3cr3tTOKEN123456",
    }
    assert await _states(engine) == [("delivered", 1)]
    [attempt] = await rows(engine, "SELECT url, status_code, answer, error FROM forward_attempts")
    assert attempt.status_code == 200
    assert attempt.answer == "OK"
    assert attempt.error is None
    assert "s3cr3tTOKEN123456" not in attempt.url
    assert "token=***" in attempt.url
    assert f"cid={click_id}" in attempt.url


async def _delivered(engine: AsyncEngine, count: int) -> bool:
    found = await rows(engine, "SELECT count(*) AS n FROM forwards WHERE state = 'delivered'")
    return bool(found[0].n == count)


async def test_post_sends_the_query_as_a_form_body(
    ingestion_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
):
    await template_for(
        receiver.url("/ok/pb?cid={clickid}&p={payout}"), method="POST", payoutOverride="1.25"
    )
    click_id = await click(ingestion_client)
    assert (await postback(ingestion_client, campaign.secret, cid=click_id, payout="10"))[0] == 200
    async with running(engine, forwarder_settings(settings)):
        await receiver.wait_for(1)
    [request] = receiver.received
    assert (request.method, request.target) == ("POST", "/ok/pb")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.params == {"cid": click_id, "p": "1.25"}


async def test_statuses_choose_what_is_sent_and_a_chargeback_is_sent_again(
    ingestion_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
):
    await template_for(
        receiver.url("/ok/?st={status}&ev={event_id}"), statuses=["APPROVED", "DECLINED"]
    )
    click_id = await click(ingestion_client)
    for status in ("pending", "pending", "approved", "declined"):
        code, body = await postback(ingestion_client, campaign.secret, cid=click_id, status=status)
        assert code == 200, body
    async with running(engine, forwarder_settings(settings)):
        await receiver.wait_for(2)
        await wait_until(lambda: _delivered(engine, 2))
    # Sent concurrently, so they may arrive in either order; the ids follow the events.
    sent = sorted(receiver.received, key=lambda r: int(r.params["ev"]))
    assert [r.params["st"] for r in sent] == ["approved", "declined"]
    # One event, two forwards: each has its own event id.
    assert len({r.params["ev"] for r in receiver.received}) == 2


async def test_no_template_means_no_outbox_row(
    ingestion_client: Client, campaign: TrackedCampaign, engine: AsyncEngine
):
    click_id = await click(ingestion_client)
    assert (await postback(ingestion_client, campaign.secret, cid=click_id))[0] == 200
    assert await rows(engine, "SELECT id FROM forwards") == []


async def test_a_disabled_template_queues_nothing(
    ingestion_client: Client, campaign: TrackedCampaign, template_for, engine: AsyncEngine
):
    await template_for("https://source.example/pb?c={clickid}", enabled=False)
    click_id = await click(ingestion_client)
    assert (await postback(ingestion_client, campaign.secret, cid=click_id))[0] == 200
    assert await rows(engine, "SELECT id FROM forwards") == []


async def test_a_source_answering_500_is_retried_then_dead_lettered(
    ingestion_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
):
    await template_for(receiver.url("/fail/?c={clickid}"))
    click_id = await click(ingestion_client)
    assert (await postback(ingestion_client, campaign.secret, cid=click_id))[0] == 200
    async with running(engine, forwarder_settings(settings, forward_max_attempts=3)):
        await receiver.wait_for(3)
        await wait_until(lambda: _dead(engine))
    assert await _states(engine) == [("dead", 3)]
    attempts = await rows(engine, "SELECT status_code, error, answer FROM forward_attempts")
    assert [(a.status_code, a.error, a.answer) for a in attempts] == [
        (500, "HTTP 500", "database down")
    ] * 3
    [forward] = await rows(engine, "SELECT last_status_code, last_error FROM forwards")
    assert (forward.last_status_code, forward.last_error) == (500, "HTTP 500")


async def _dead(engine: AsyncEngine) -> bool:
    return bool(await rows(engine, "SELECT id FROM forwards WHERE state = 'dead'"))


async def test_a_hanging_source_times_out(
    ingestion_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
):
    await template_for(receiver.url("/hang/?c={clickid}"))
    click_id = await click(ingestion_client)
    assert (await postback(ingestion_client, campaign.secret, cid=click_id))[0] == 200
    limits = forwarder_settings(settings, forward_max_attempts=1, forward_timeout_s=0.3)
    async with running(engine, limits):
        await wait_until(lambda: _dead(engine))
    [attempt] = await rows(engine, "SELECT status_code, error, latency_ms FROM forward_attempts")
    assert attempt.status_code is None
    assert attempt.error == "no answer within 0.3 s"
    assert 300 <= attempt.latency_ms < 2000


async def test_a_redirect_to_a_private_address_is_refused_for_good(
    ingestion_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
):
    await template_for(receiver.url("/redirect/?to=http://10.1.2.3/steal&c={clickid}"))
    click_id = await click(ingestion_client)
    assert (await postback(ingestion_client, campaign.secret, cid=click_id))[0] == 200
    async with running(engine, forwarder_settings(settings, forward_max_attempts=5)):
        await wait_until(lambda: _dead(engine))
    # Refused before connecting, and not retried: a retry would be refused again.
    assert await _states(engine) == [("dead", 1)]
    [attempt] = await rows(engine, "SELECT error, status_code FROM forward_attempts")
    assert attempt.error == "refused: 10.1.2.3 is a private address"
    assert len(receiver.received) == 1


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("169.254.169.254", "a link-local address (cloud metadata services live there)"),
        ("fd00:ec2::254", "a private address"),
        ("192.168.1.1", "a private address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("100.64.0.1", "not a public address"),
        ("0.0.0.0", "a private address"),
        ("224.0.0.1", "not a public address"),
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("93.184.215.14", None),
        ("2606:4700::1111", None),
    ],
)
def test_which_addresses_are_refused(address: str, why: str | None):
    assert refusal(ip_address(address), allow_loopback=False) == why


async def test_loopback_is_refused_unless_allowed(
    ingestion_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
):
    await template_for(receiver.url("/ok/?c={clickid}"))
    click_id = await click(ingestion_client)
    assert (await postback(ingestion_client, campaign.secret, cid=click_id))[0] == 200
    async with running(engine, forwarder_settings(settings, forward_allow_loopback=False)):
        await wait_until(lambda: _dead(engine))
    [attempt] = await rows(engine, "SELECT error FROM forward_attempts")
    assert attempt.error == "refused: 127.0.0.1 is a loopback address"
    assert receiver.received == []


async def test_a_name_that_resolves_to_a_refused_address_is_refused_for_good(
    ingestion_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
):
    await template_for(f"http://localhost:{receiver.port}/ok/?c={{clickid}}")
    click_id = await click(ingestion_client)
    assert (await postback(ingestion_client, campaign.secret, cid=click_id))[0] == 200
    limits = forwarder_settings(settings, forward_allow_loopback=False, forward_max_attempts=5)
    async with running(engine, limits):
        await wait_until(lambda: _dead(engine))
    assert await _states(engine) == [("dead", 1)]
    [attempt] = await rows(engine, "SELECT error FROM forward_attempts")
    assert attempt.error.startswith("refused: localhost resolves to ")
    assert attempt.error.endswith(", a loopback address")
    assert receiver.received == []


async def test_a_huge_answer_is_read_only_up_to_its_bound(
    ingestion_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
):
    await template_for(receiver.url("/big/?c={clickid}"))
    click_id = await click(ingestion_client)
    assert (await postback(ingestion_client, campaign.secret, cid=click_id))[0] == 200
    async with running(engine, forwarder_settings(settings)):
        await wait_until(lambda: _delivered(engine, 1))
    [attempt] = await rows(engine, "SELECT answer FROM forward_attempts")
    assert attempt.answer == "x" * ANSWER_EXCERPT_CHARS


async def test_an_unconfirmed_claim_is_sent_again_once_its_lease_lapses_and_a_delivered_one_never(
    ingestion_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
):
    await template_for(receiver.url("/ok/?ev={event_id}"))
    first = await click(ingestion_client)
    assert (await postback(ingestion_client, campaign.secret, cid=first))[0] == 200
    async with running(engine, forwarder_settings(settings)):
        await wait_until(lambda: _delivered(engine, 1))
    second = await click(ingestion_client)
    assert (await postback(ingestion_client, campaign.secret, cid=second))[0] == 200
    # A forwarder claims the second and dies before settling it (as after a kill -9).
    async with driver_connection(engine) as conn:
        [claimed] = await repository.claim(conn, [campaign.workspace_id], limit=10, lease_s=0.3)
    async with running(engine, forwarder_settings(settings)):
        await wait_until(lambda: _delivered(engine, 2))
    [delivered_first] = await rows(engine, "SELECT min(id) AS id FROM forwards")
    assert receiver.event_ids == {str(delivered_first.id): 1, str(claimed["id"]): 1}
    assert await _states(engine) == [("delivered", 1), ("delivered", 1)]


async def test_a_destination_that_hangs_does_not_hold_up_the_others(
    ingestion_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
):
    async with Receiver() as hanging:
        await template_for(hanging.url("/hang/?c={clickid}"))
        await template_for(receiver.url("/ok/?c={clickid}"), type_name="transaction")
        for _ in range(6):
            click_id = await click(ingestion_client)
            for extra in ({}, {"type": "transaction", "txid": "t"}):
                code, body = await postback(
                    ingestion_client, campaign.secret, cid=click_id, **extra
                )
                assert code == 200, body
        limits = forwarder_settings(settings, forward_concurrency=1, forward_timeout_s=5.0)
        async with running(engine, limits):
            await wait_until(lambda: _delivered(engine, 6), timeout_s=3.0)
            # One slot for the hanging source: one request waits there, the rest wait their turn.
            assert len(hanging.received) == 1
    assert len(receiver.received) == 6


async def test_a_forward_whose_click_retention_dropped_is_dead_unless_it_needs_no_click_value(
    ingestion_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    session: AsyncSession,
    settings: Settings,
):
    await template_for(receiver.url("/ok/?ext={external_id}&s1={sub1}&c={clickid}"))
    await template_for(receiver.url("/ok/?c={clickid}&tx={txid}"), type_name="transaction")
    await session.execute(update(Campaign).values(attribution_window_days=365))
    await session.commit()
    click_id = await insert_click(
        session, engine, campaign, datetime.now(UTC) - timedelta(days=100)
    )
    # Forwards go to the click's source, which a tracking link would have set.
    await session.execute(update(Click).values(traffic_source_id=campaign.source_id))
    await session.commit()
    for kind in ("conversion", "transaction"):
        params = {"cid": click_id, "type": kind, "txid": "T-1"}
        assert (await postback(ingestion_client, campaign.secret, **params))[0] == 200
    # The month goes while both forwards wait for the forwarder.
    await drop_expired(engine, retention_days=30)

    async with running(engine, forwarder_settings(settings)):
        await receiver.wait_for(1)
        await wait_until(lambda: _dead(engine))
    assert [r.target for r in receiver.received] == [f"/ok/?c={click_id}&tx=T-1"]
    [dead] = await rows(engine, "SELECT last_error FROM forwards WHERE state = 'dead'")
    assert dead.last_error == (
        f"the template could not be filled: click {click_id} is no longer stored (raw "
        "retention dropped its month), and the template needs its external_id, sub1"
    )
