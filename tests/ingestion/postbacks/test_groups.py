"""Postbacks applied in groups: the same outcomes as one at a time, and one bad hit fails alone."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from urllib.parse import urlencode

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ingestion.group_commit import NotCommittedError
from ingestion.postbacks.records import Hit, Outcome
from ingestion.postbacks.service import WorkspaceDirectory, prepare
from ingestion.postbacks.writer import PostbackWriter
from models.click_ids import new_click_id
from models.database import create_engine
from models.enums import HitKind
from models.settings import Settings
from tests.ingestion.conftest import (
    Client,
    TrackedCampaign,
    click,
    count,
    insert_click,
    postback,
)


def _hit(secret: str, **params: str) -> Hit:
    return Hit(
        kind=HitKind.POSTBACK,
        method="GET",
        secret=secret,
        query=urlencode(params).encode(),
        body=None,
        source_ip=ip_address("192.0.2.7"),
        received_at=datetime.now(UTC),
    )


@dataclass
class Group:
    outcomes: list[Outcome | BaseException]
    commits: int


async def _one_group(settings: Settings, hits: list[Hit]) -> Group:
    """Queue every hit before the writer starts, so its first group carries them all.

    Commits are counted as the COMMITs the writer's connections send (asyncpg's query
    loggers): rows of one transaction share an xmin only on one node, not on Citus.
    """
    assert settings.database_url is not None
    sent: list[str] = []
    engine = create_engine(settings.database_url, settings, application_name="groups")
    event.listen(
        engine.sync_engine,
        "connect",
        lambda dbapi, _: dbapi.driver_connection.add_query_logger(
            lambda record: sent.append(record.query)
        ),
    )
    directory = WorkspaceDirectory(engine)
    writer = PostbackWriter(engine)
    try:
        prepared = [await prepare(directory, hit) for hit in hits]
        waiting = [asyncio.ensure_future(writer.record(p)) for p in prepared]
        await asyncio.sleep(0)
        writer.start()
        try:
            outcomes = await asyncio.gather(*waiting, return_exceptions=True)
        finally:
            await writer.stop()
    finally:
        await engine.dispose()
    # Query loggers are called soon after, not during, the statement.
    await asyncio.sleep(0)
    # A COMMIT may share its query with the live feed's NOTIFY (`NOTIFY ...; COMMIT`).
    commits = sum(part.strip().upper() == "COMMIT" for query in sent for part in query.split(";"))
    return Group(outcomes, commits)


async def test_a_group_gives_the_outcomes_of_one_hit_at_a_time(
    ingestion_client: Client, session: AsyncSession, settings: Settings, campaign: TrackedCampaign
):
    click_id = await click(ingestion_client)
    missing_click, _ = new_click_id(datetime.now(UTC))
    secret = campaign.secret
    sent = [
        ({"clickid": click_id, "sum": "5", "status": "pending"}, "accepted"),
        ({"clickid": click_id, "sum": "5", "status": "pending"}, "duplicate"),
        ({"clickid": click_id, "status": "approved"}, "updated"),
        ({"clickid": click_id, "status": "pending"}, "illegal_status_change"),
        ({"clickid": click_id, "type": "transaction", "txid": "T-1", "sum": "2"}, "accepted"),
        ({"clickid": click_id, "type": "transaction", "txid": "T-1", "sum": "2"}, "duplicate"),
        ({"clickid": click_id, "type": "transaction", "txid": "T-2", "sum": "3"}, "accepted"),
        ({"clickid": missing_click, "sum": "1"}, "unknown_click"),
        ({"clickid": click_id, "sum": "lots"}, "bad_amount"),
    ]
    hits = [_hit(secret, **params) for params, _ in sent]
    hits.append(_hit("not-a-secret", clickid=click_id))

    group = await _one_group(settings, hits)
    outcomes = group.outcomes

    reasons = [o.reason for o in outcomes if isinstance(o, Outcome)]
    assert reasons == [reason for _, reason in sent] + ["bad_secret"]
    events = (
        await session.execute(
            text("SELECT txid, status, amount FROM conversion_events ORDER BY txid")
        )
    ).all()
    assert [tuple(e) for e in events] == [
        ("", "approved", 5),
        ("T-1", "approved", 2),
        ("T-2", "approved", 3),
    ]
    stored = await session.execute(text("SELECT params FROM conversion_events WHERE txid = 'T-2'"))
    assert stored.scalar_one() == sent[6][0]
    logged = (
        await session.execute(text("SELECT reason, source_ip, query FROM postback_log ORDER BY id"))
    ).all()
    assert [r.reason for r in logged] == reasons
    assert {str(r.source_ip) for r in logged} == {"192.0.2.7"}
    assert [r.query for r in logged] == [hit.query.decode() for hit in hits]
    assert group.commits == 1


async def test_a_group_updates_old_events_but_inserts_only_within_the_window(
    ingestion_client: Client,
    session: AsyncSession,
    engine: AsyncEngine,
    settings: Settings,
    campaign: TrackedCampaign,
):
    old = await insert_click(session, engine, campaign, datetime.now(UTC) - timedelta(days=45))
    await session.execute(
        text(
            """
            INSERT INTO conversion_events
                (workspace_id, click_created_at, click_id, type_id, amount, created_at)
            SELECT k.workspace_id, k.created_at, k.id, t.id, 8, k.created_at
            FROM clicks k
            JOIN conversion_types t ON t.workspace_id = k.workspace_id AND t.name = 'conversion'
            WHERE k.id = :id
            """
        ),
        {"id": old},
    )
    await session.commit()
    recent = await click(ingestion_client)
    sent = [
        ({"clickid": old, "type": "transaction", "txid": "T-1", "sum": "2"}, "outside_window"),
        ({"clickid": recent, "type": "transaction", "txid": "T-1", "sum": "2"}, "accepted"),
        ({"clickid": old, "status": "declined"}, "updated"),
        ({"clickid": old, "type": "transaction", "txid": "T-1", "sum": "2"}, "outside_window"),
        ({"clickid": old, "status": "declined"}, "duplicate"),
    ]

    group = await _one_group(settings, [_hit(campaign.secret, **p) for p, _ in sent])
    outcomes = group.outcomes

    assert [o.reason for o in outcomes if isinstance(o, Outcome)] == [r for _, r in sent]
    events = await session.execute(
        text("SELECT click_id, status FROM conversion_events ORDER BY click_id = :old"),
        {"old": old},
    )
    assert [tuple(e) for e in events] == [(recent, "approved"), (old, "declined")]
    assert group.commits == 1


@pytest.fixture
async def poison(engine: AsyncEngine, session: AsyncSession) -> AsyncIterator[str]:
    """A constraint that fails any event with this txid: a database error for one hit only.

    A constraint, not a trigger: Citus refuses triggers on distributed tables.
    """
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "ALTER TABLE conversion_events ADD CONSTRAINT test_poison "
                "CHECK (txid IS DISTINCT FROM 'poison')"
            )
        )
    try:
        yield "poison"
    finally:
        # The test's reads keep a lock on the table until its transaction ends.
        await session.rollback()
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE conversion_events DROP CONSTRAINT test_poison"))


async def test_a_failing_group_is_applied_one_by_one(
    ingestion_client: Client,
    session: AsyncSession,
    settings: Settings,
    campaign: TrackedCampaign,
    poison: str,
):
    click_id = await click(ingestion_client)
    hits = [
        _hit(campaign.secret, clickid=click_id, type="transaction", txid=txid, sum="1")
        for txid in ("T-1", poison, "T-2")
    ]

    group = await _one_group(settings, hits)
    first, failed, last = group.outcomes

    assert isinstance(first, Outcome)
    assert first.reason == "accepted"
    assert isinstance(failed, NotCommittedError)
    assert isinstance(last, Outcome)
    assert last.reason == "accepted"
    assert await count(session, "SELECT count(*) FROM conversion_events") == 2
    assert await count(session, "SELECT count(*) FROM postback_log") == 2
    assert group.commits == 2


async def test_a_postback_the_database_refuses_answers_500_not_503(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign, poison: str
):
    # Not 2xx, as it was not stored; not 503, as a retry would be refused the same way.
    click_id = await click(ingestion_client)
    status, body = await postback(
        ingestion_client, campaign.secret, clickid=click_id, type="transaction", txid=poison
    )
    assert (status, body["error"]) == (500, "internal_error")
    assert "could not be recorded" in body["detail"]
    assert await count(session, "SELECT count(*) FROM conversion_events") == 0


async def test_a_failed_workspace_lookup_answers_500_and_the_pixel_its_gif(
    ingestion_client: Client, engine: AsyncEngine, campaign: TrackedCampaign
):
    click_id = await click(ingestion_client)
    # A real database error in the lookup that runs before a hit joins a group.
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE postback_secrets RENAME TO postback_secrets_away"))
    try:
        status, body = await postback(ingestion_client, campaign.secret, clickid=click_id)
        pixel = await ingestion_client.get(f"/pixel/{campaign.secret}.gif?clickid={click_id}")
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE postback_secrets_away RENAME TO postback_secrets"))
    assert (status, body["error"]) == (500, "internal_error")
    assert pixel.status_code == 200
    assert pixel.headers["content-type"] == "image/gif"
    assert pixel.headers["x-clicktrail-result"] == "internal_error"
