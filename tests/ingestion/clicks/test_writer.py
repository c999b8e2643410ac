"""The click writer: one bad row in a batch fails alone; failing visitor records are logged
once, then their end."""

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ingestion.clicks.records import ClickRecord
from ingestion.clicks.writer import ClickWriter
from ingestion.group_commit import NotCommittedError
from models.click_ids import new_click_id
from models.partitions import ensure_partitions
from tests.ingestion.conftest import TrackedCampaign, count


def _click(campaign: TrackedCampaign, user_agent: str) -> ClickRecord:
    click_id, created_at = new_click_id(datetime.now(UTC))
    return ClickRecord(
        workspace_id=campaign.workspace_id,
        created_at=created_at,
        id=click_id,
        campaign_id=campaign.campaign_id,
        offer_id=campaign.offer_id,
        traffic_source_id=campaign.source_id,
        ip=None,
        user_agent=user_agent,
        device_type="other",
        os=None,
        browser=None,
        is_bot=False,
        country=None,
        referrer=None,
        external_id=None,
        cost=Decimal(0),
        subs=(None,) * 20,
        params="{}",
        fingerprint=user_agent.encode(),
    )


async def _one_durable_batch(
    engine: AsyncEngine, clicks: list[ClickRecord]
) -> list[BaseException | None]:
    """Each click's outcome, written by a durable writer in one batch."""
    writer = ClickWriter(
        engine, durable=True, unique_window=timedelta(hours=24), flush_interval_s=0.05
    )
    # Queued before the writer starts, so its first batch carries them all.
    waiting = [asyncio.ensure_future(writer.write(click)) for click in clicks]
    await asyncio.sleep(0)
    await writer.start()
    try:
        return await asyncio.gather(*waiting, return_exceptions=True)
    finally:
        await writer.stop()


async def test_a_value_postgresql_cannot_store_fails_only_its_click(
    engine: AsyncEngine, session: AsyncSession, campaign: TrackedCampaign
):
    async with engine.begin() as conn:
        now = datetime.now(UTC)
        await ensure_partitions(conn, since=now, until=now)
    clicks = [_click(campaign, agent) for agent in ("first", "NUL \x00", "last")]
    first, failed, last = await _one_durable_batch(engine, clicks)

    assert (first, last) == (None, None)
    assert isinstance(failed, NotCommittedError)
    stored = (await session.execute(text("SELECT user_agent FROM clicks ORDER BY 1"))).scalars()
    assert list(stored) == ["first", "last"]
    assert await count(session, "SELECT count(*) FROM click_fingerprints") == 2


@pytest.fixture
async def poison(engine: AsyncEngine, session: AsyncSession) -> AsyncIterator[str]:
    """A constraint that refuses clicks with this referrer: a database error for one row only."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "ALTER TABLE clicks ADD CONSTRAINT test_poison "
                "CHECK (referrer IS DISTINCT FROM 'https://poison.example/')"
            )
        )
    try:
        yield "https://poison.example/"
    finally:
        # The test's reads keep a lock on the table until its transaction ends.
        await session.rollback()
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE clicks DROP CONSTRAINT test_poison"))


@pytest.fixture
async def refused_by_a_worker(engine: AsyncEngine, session: AsyncSession) -> AsyncIterator[str]:
    """Clicks with this user agent fail with SQLSTATE XX000, as Citus reports a COPY row that a
    worker refused. The function and the constraint go in transactions of their own, as Citus
    needs (a function is propagated to the workers before DDL may use it)."""
    async with engine.connect() as conn:
        if (
            await conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'citus'"))
        ).scalar():
            pytest.skip("on Citus a worker's own refusals are XX000 already")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE FUNCTION test_worker_accepts(agent text) RETURNS boolean "
                "LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN "
                "IF agent = 'refused' THEN "
                "RAISE EXCEPTION 'worker refused the row' USING ERRCODE = 'XX000'; END IF; "
                "RETURN true; END $$"
            )
        )
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "ALTER TABLE clicks ADD CONSTRAINT test_worker "
                "CHECK (test_worker_accepts(user_agent))"
            )
        )
    try:
        yield "refused"
    finally:
        await session.rollback()
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE clicks DROP CONSTRAINT test_worker"))
        async with engine.begin() as conn:
            await conn.execute(text("DROP FUNCTION test_worker_accepts"))


async def test_a_click_a_worker_refuses_with_xx000_fails_alone(
    engine: AsyncEngine,
    session: AsyncSession,
    campaign: TrackedCampaign,
    refused_by_a_worker: str,
):
    async with engine.begin() as conn:
        now = datetime.now(UTC)
        await ensure_partitions(conn, since=now, until=now)
    clicks = [_click(campaign, agent) for agent in ("first", refused_by_a_worker, "last")]
    first, failed, last = await _one_durable_batch(engine, clicks)

    assert (first, last) == (None, None)
    assert isinstance(failed, NotCommittedError)
    stored = (await session.execute(text("SELECT user_agent FROM clicks ORDER BY 1"))).scalars()
    assert list(stored) == ["first", "last"]


async def test_a_batch_whose_every_unit_fails_with_xx000_fails_whole(
    engine: AsyncEngine,
    session: AsyncSession,
    campaign: TrackedCampaign,
    refused_by_a_worker: str,
    service_log: list[logging.LogRecord],
):
    async with engine.begin() as conn:
        now = datetime.now(UTC)
        await ensure_partitions(conn, since=now, until=now)
    clicks = [_click(campaign, refused_by_a_worker) for _ in range(3)]
    outcomes = await _one_durable_batch(engine, clicks)

    assert all(isinstance(outcome, NotCommittedError) for outcome in outcomes)
    assert await count(session, "SELECT count(*) FROM clicks") == 0
    # Failed as a batch (the cluster's fault, perhaps), not logged as three bad clicks.
    assert not [r for r in service_log if r.getMessage() == "clicks not recorded"]


async def test_a_poisoned_click_does_not_take_down_its_batch(
    client_at, session: AsyncSession, campaign: TrackedCampaign, poison: str
):
    # Buffered: every click of the flush interval shares one batch.
    async with client_at("192.0.2.1", click_durability="buffered", click_flush_ms=200) as client:
        responses = await asyncio.gather(
            *(
                client.get("/c/summer", headers={"Referer": referrer}, follow_redirects=False)
                for referrer in ("https://a.example/", poison, "https://b.example/")
            )
        )
        assert [r.status_code for r in responses] == [302, 302, 302]
    stored = (await session.execute(text("SELECT referrer FROM clicks ORDER BY 1"))).scalars()
    assert list(stored) == ["https://a.example/", "https://b.example/"]


async def test_buffered_clicks_past_the_backlog_wait_for_their_commit(
    engine: AsyncEngine, session: AsyncSession, campaign: TrackedCampaign
):
    async with engine.begin() as conn:
        now = datetime.now(UTC)
        await ensure_partitions(conn, since=now, until=now)
    writer = ClickWriter(
        engine,
        durable=False,
        unique_window=timedelta(hours=24),
        flush_interval_s=0.01,
        max_backlog=3,
    )
    await writer.start()
    try:
        # A stalled database: the first batch's COPY waits on the lock, the rest queue up.
        async with engine.connect() as blocker:
            await blocker.execute(text("LOCK TABLE clicks IN ACCESS EXCLUSIVE MODE"))
            await writer.write(_click(campaign, "taken into the stalled batch"))
            await asyncio.sleep(0.1)
            for n in range(3):
                await asyncio.wait_for(writer.write(_click(campaign, f"queued {n}")), 1)
            waiting = asyncio.ensure_future(writer.write(_click(campaign, "over the backlog")))
            await asyncio.sleep(0.3)
            assert not waiting.done()
            await blocker.rollback()
        await asyncio.wait_for(waiting, 10)
    finally:
        await writer.stop()
    assert await count(session, "SELECT count(*) FROM clicks") == 5


async def test_a_missing_partition_fails_the_batch_without_a_row_by_row_pass(
    engine: AsyncEngine, session: AsyncSession, campaign: TrackedCampaign
):
    async with engine.begin() as conn:
        now = datetime.now(UTC)
        await ensure_partitions(conn, since=now, until=now)
    # A month no partition exists for: partition upkeep fell behind, not one row's fault.
    click_id, created_at = new_click_id(datetime(2090, 1, 1, tzinfo=UTC))
    stranded = dataclasses.replace(_click(campaign, "stranded"), id=click_id, created_at=created_at)
    clicks = [_click(campaign, "first"), stranded, _click(campaign, "last")]
    outcomes = await _one_durable_batch(engine, clicks)
    # The batch fails whole (its requests answer 503), as it would for a lost connection.
    assert all(isinstance(outcome, NotCommittedError) for outcome in outcomes)
    assert await count(session, "SELECT count(*) FROM clicks") == 0


async def test_a_click_api_request_is_committed_whole_or_not_at_all(
    client_at, session: AsyncSession, campaign: TrackedCampaign, poison: str
):
    # Durable, and sent together: the writer takes both requests into one batch.
    async with client_at("192.0.2.1") as client:
        poisoned = [
            {"campaign_key": "summer", "referrer": r} for r in ("https://a.example/", poison)
        ]
        clean = [{"campaign_key": "summer", "referrer": "https://c.example/"}]
        refused, accepted = await asyncio.gather(
            client.post("/clicks", json=poisoned), client.post("/clicks", json=clean)
        )
    assert (refused.status_code, refused.json()["error"]) == (503, "unavailable")
    assert accepted.status_code == 201
    # The refused request left nothing a retry would duplicate; the other one is whole.
    stored = (await session.execute(text("SELECT referrer FROM clicks ORDER BY 1"))).scalars()
    assert list(stored) == ["https://c.example/"]


@pytest.fixture
async def visitors_refused(engine: AsyncEngine, session: AsyncSession) -> AsyncIterator[None]:
    """A trigger that refuses every statement writing visitors and counts them in a sequence
    (a rollback does not undo `nextval`). The test may drop the trigger itself."""
    statements = [
        "CREATE SEQUENCE test_visitor_attempts",
        "CREATE FUNCTION test_refuse_visitors() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM nextval('test_visitor_attempts'); "
        "RAISE EXCEPTION 'visitors refused'; END $$",
        "CREATE TRIGGER test_refuse_visitors BEFORE INSERT ON click_fingerprints "
        "FOR EACH STATEMENT EXECUTE FUNCTION test_refuse_visitors()",
    ]
    # One transaction each: Citus must propagate a function before DDL may use it.
    for statement in statements:
        async with engine.begin() as conn:
            await conn.execute(text(statement))
    try:
        yield
    finally:
        # The test's reads keep a lock on the table until its transaction ends.
        await session.rollback()
        for statement in (
            "DROP TRIGGER IF EXISTS test_refuse_visitors ON click_fingerprints",
            "DROP FUNCTION test_refuse_visitors()",
            "DROP SEQUENCE test_visitor_attempts",
        ):
            async with engine.begin() as conn:
                await conn.execute(text(statement))


async def test_failing_visitor_records_are_logged_once_then_their_end(
    engine: AsyncEngine,
    session: AsyncSession,
    campaign: TrackedCampaign,
    visitors_refused: None,
    service_log: list[logging.LogRecord],
):
    async with engine.begin() as conn:
        now = datetime.now(UTC)
        await ensure_partitions(conn, since=now, until=now)

    async def until_refused(attempts: int) -> None:
        sql = "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM test_visitor_attempts"
        deadline = time.monotonic() + 10
        while await count(session, sql) < attempts:
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.02)

    writer = ClickWriter(
        engine, durable=True, unique_window=timedelta(hours=24), flush_interval_s=0.05
    )
    await writer.start()
    try:
        for n in range(1, 6):
            await writer.write(_click(campaign, f"refused {n}"))  # committed
            await until_refused(n)  # its visitor, alone in its statement
        async with engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER test_refuse_visitors ON click_fingerprints"))
        await writer.write(_click(campaign, "recorded"))
    finally:
        await writer.stop()  # records the last visitor

    assert await count(session, "SELECT count(*) FROM clicks") == 6
    assert await count(session, "SELECT count(*) FROM click_fingerprints") == 1
    messages = [record.getMessage() for record in service_log]
    assert len(messages) == 2, messages
    failed, recovered = service_log
    assert failed.getMessage().startswith("could not record visitors: ")
    assert "visitors refused" in failed.getMessage()
    assert failed.exc_info is not None
    assert recovered.getMessage().startswith("can record visitors again after ")
    assert recovered.getMessage().endswith("(5 failures)")
