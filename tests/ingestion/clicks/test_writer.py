"""The click writer: one bad row in a batch fails alone; failing visitor records are logged
once, then their end."""

import asyncio
import dataclasses
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from ipaddress import ip_address

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ingestion.clicks import writer
from ingestion.clicks.records import ClickRecord
from ingestion.clicks.writer import ClickWriter
from ingestion.group_commit import NotCommittedError
from models.click_ids import new_click_id
from models.database import driver_connection
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


# Texts that would end or escape a quoted literal, or change its meaning, if not written as data.
HOSTILE = (
    "D'Arcy",
    "a\\'); DROP TABLE clicks; --\\",
    "E'\\x27' || '",
    "$$ $tag$ \\\\ \\n",
    "ünïcødé 🚀 \u2028",
    "",
)


def _hostile_click(campaign: TrackedCampaign, n: int) -> ClickRecord:
    """A click whose every text column holds something hostile, and whose subs are NULL but
    for two (the one-message INSERT leaves out columns NULL in every row)."""
    text_of = HOSTILE[n % len(HOSTILE)]
    subs: list[str | None] = [None] * 20
    subs[0], subs[19] = text_of, HOSTILE[(n + 1) % len(HOSTILE)]
    return dataclasses.replace(
        _click(campaign, text_of),
        ip=ip_address("2001:db8::1") if n % 2 else None,
        device_type=text_of,
        os=text_of or None,
        browser=text_of,
        is_bot=bool(n % 2),
        country="D'" if n % 3 else None,
        referrer=text_of,
        external_id=text_of,
        cost=Decimal("123456789012.123456") if n % 2 else Decimal("0.000001"),
        subs=tuple(subs),
        params=json.dumps({"q": text_of, "n": n}),
        # A visitor of its own: each batch then counts the same unique clicks.
        fingerprint=secrets.token_bytes(16),
    )


async def test_a_batch_in_one_message_stores_what_a_copy_stores(
    engine: AsyncEngine, campaign: TrackedCampaign, monkeypatch: pytest.MonkeyPatch
):
    """Small batches go as one message with their values written out as SQL, big ones by COPY:
    both store every value as sent, and the same rollup changes."""
    async with engine.begin() as conn:
        now = datetime.now(UTC)
        await ensure_partitions(conn, since=now, until=now)
    stored: list[list[tuple[object, ...]]] = []
    changes: list[list[tuple[object, ...]]] = []
    for one_message in (writer.ONE_MESSAGE_CLICKS, 0):
        monkeypatch.setattr(writer, "ONE_MESSAGE_CLICKS", one_message)
        clicks = [_hostile_click(campaign, n) for n in range(len(HOSTILE) * 2)]
        assert await _one_durable_batch(engine, clicks) == [None] * len(clicks)
        async with driver_connection(engine) as conn:
            rows = await conn.fetch(
                "SELECT * FROM clicks WHERE id = ANY($1::text[]) ORDER BY created_at",
                [c.id for c in clicks],
            )
            pending = await conn.fetch(
                "DELETE FROM rollup_clicks_pending WHERE workspace_id = $1 RETURNING *",
                campaign.workspace_id,
            )
        expected = [
            (
                c.ip,
                c.user_agent,
                c.device_type,
                c.os,
                c.browser,
                c.is_bot,
                c.country,
                c.referrer,
                c.external_id,
                c.cost,
                *c.subs,
                json.loads(c.params),
            )
            for c in clicks
        ]
        got = [
            (
                r["ip"],
                r["user_agent"],
                r["device_type"],
                r["os"],
                r["browser"],
                r["is_bot"],
                r["country"],
                r["referrer"],
                r["external_id"],
                r["cost"],
                *(r[f"sub{i}"] for i in range(1, 21)),
                r["params"],  # the app's codec decodes jsonb
            )
            for r in rows
        ]
        assert got == expected
        stored.append(got)
        # Each batch's clicks fall in this slot (or the next, if the clock crossed one).
        changes.append(sorted((tuple(r)[2:] for r in pending), key=repr))
    assert stored[0] == stored[1]
    assert changes[0] == changes[1]


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
    # The batch fails whole, as it would for a lost connection (its requests answer 500: a
    # missing partition is no outage).
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
    assert (refused.status_code, refused.json()["error"]) == (500, "internal_error")
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
