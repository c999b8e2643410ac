"""Rollups are kept equal to the raw tables by the database's triggers, whatever writes."""

import asyncio
import random
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.catalog.service import create_campaign
from api.workspaces.service import NewWorkspace, create_workspace
from ingestion.app import create_app
from models.click import CLICK_COLUMNS
from models.click_ids import new_click_id
from models.database import driver_connection
from models.enums import CostModel
from models.partitions import ensure_partitions
from models.rollups import (
    CLICK_MEASURES,
    EVENT_MEASURES,
    ROLLUPS,
    TRIGGERS,
    Rollup,
    compact_rollups,
    rebuild_rollups,
    trigger_functions,
)
from models.settings import Settings
from tests.ingestion.conftest import click, postback

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0 Safari/537.36"
)
BOT = "Googlebot/2.1 (+http://www.google.com/bot.html)"

Contents = dict[tuple[Any, ...], tuple[int, ...]]


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _local_midnight(moment: datetime, zone: ZoneInfo) -> datetime:
    return datetime.combine(moment.astimezone(zone).date(), time(), tzinfo=zone)


def _micros(amount: Decimal) -> int:
    return int(amount * 1_000_000)


async def raw_aggregates(
    session: AsyncSession, rollup: Rollup, *, event_cost: bool = True
) -> tuple[Contents, Contents]:
    """What the rollup's two tables must hold, summed in Python from the raw rows
    (``event_cost``: the schema has it, from migration 0006 on)."""
    zones = {
        id: ZoneInfo(name)
        for id, name in await session.execute(text("SELECT id, timezone FROM workspaces"))
    }

    def cut(workspace_id: int, moment: datetime) -> tuple[tuple[str, ...], datetime]:
        """The key's zone (daily rollups only) and time bucket: the workspace's local day."""
        if rollup.grain == "hour":
            return (), _hour(moment)
        zone = zones[workspace_id]
        return (zone.key,), _local_midnight(moment, zone)

    dims = ", ".join(f"c.{d}" for d in rollup.dimensions)
    clicks: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in await session.execute(
        text(
            f"SELECT c.workspace_id, c.created_at, {dims}, c.is_unique, c.is_bot, c.cost "
            "FROM clicks c"
        )
    ):
        workspace_id, created_at, *dimensions, is_unique, is_bot, cost = row
        zone, bucket = cut(workspace_id, created_at)
        sums = clicks[(workspace_id, *zone, bucket, *dimensions)]
        for i, value in enumerate((1, int(is_unique), int(is_bot), _micros(cost))):
            sums[i] += value
    events: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0][: 2 + event_cost])
    cost = "e.cost" if event_cost else "0"
    for row in await session.execute(
        text(
            f"SELECT e.workspace_id, e.click_created_at, e.created_at, {dims}, e.type_id, "
            f"e.status, e.amount, {cost} FROM conversion_events e JOIN clicks c "
            "ON c.workspace_id = e.workspace_id AND c.created_at = e.click_created_at "
            "AND c.id = e.click_id"
        )
    ):
        workspace_id, click_at, event_at, *rest, amount, cost = row
        for attribution, moment in (("click", click_at), ("conversion", event_at)):
            zone, bucket = cut(workspace_id, moment)
            sums = events[(workspace_id, *zone, attribution, bucket, *rest)]
            sums[0] += 1
            sums[1] += _micros(amount)
            if event_cost:
                sums[2] += _micros(cost)
    return (
        {k: tuple(v) for k, v in clicks.items()},
        {k: tuple(v) for k, v in events.items()},
    )


async def rollup_contents(
    session: AsyncSession, rollup: Rollup, *, event_cost: bool = True
) -> tuple[Contents, Contents]:
    contents = []
    for table, key, measures in (
        (rollup.clicks_table, rollup.clicks_key, CLICK_MEASURES),
        (rollup.events_table, rollup.events_key, EVENT_MEASURES[: 2 + event_cost]),
    ):
        rows = await session.execute(text(f"SELECT {', '.join((*key, *measures))} FROM {table}"))
        contents.append({tuple(r[: len(key)]): tuple(r[len(key) :]) for r in rows})
    return contents[0], contents[1]


async def compact(session: AsyncSession) -> None:
    """Fold the pending rows in, as ingestion does every few seconds."""
    await session.commit()  # a fresh snapshot
    await compact_rollups(await session.connection())
    await session.commit()


async def assert_rollups_match_raw_tables(session: AsyncSession) -> None:
    await compact(session)
    for rollup in ROLLUPS:
        assert await rollup_contents(session, rollup) == await raw_aggregates(session, rollup), (
            rollup.name
        )


def _id(workspace: NewWorkspace) -> int:
    assert workspace.workspace.id is not None
    return workspace.workspace.id


async def _campaign(session: AsyncSession, workspace_id: int, **options: Any) -> tuple[int, str]:
    created = await create_campaign(
        session, workspace_id=workspace_id, offer_url="https://o.example/?cid={clickid}", **options
    )
    await session.commit()
    assert created.campaign.id is not None
    return created.campaign.id, created.campaign.key


async def ingest_a_realistic_mix(
    session: AsyncSession,
    engine: AsyncEngine,
    settings: Settings,
    ingestion_client: AsyncTestClient,  # type: ignore[type-arg]
    workspace: NewWorkspace,
) -> list[str]:
    """Clicks and postbacks through the real apps, plus manual SQL; returns the click ids."""
    ws = _id(workspace)
    secret = workspace.postback_secret
    _, summer = await _campaign(
        session,
        ws,
        name="Summer",
        source_name="PushNet",
        cost_model=CostModel.CPC,
        cost_value=Decimal("0.05"),
        payout=Decimal("2.5"),
    )
    _, winter = await _campaign(
        session, ws, name="Winter", cost_model=CostModel.CPM, cost_value=Decimal("1.7")
    )
    await session.execute(
        text(
            "INSERT INTO conversion_types (workspace_id, name, counts_as_conversion, "
            "counts_in_revenue, duplicate_policy) VALUES (:w, 'deposit', false, true, 'add_amount')"
        ),
        {"w": ws},
    )
    await session.commit()

    geo = AsyncTestClient(
        app=create_app(settings.model_copy(update={"country_header": "CF-IPCountry"}))
    )
    ids = [
        await click(ingestion_client, summer, **{"User-Agent": IPHONE}),
        await click(ingestion_client, summer, **{"User-Agent": IPHONE}),  # not unique
        await click(ingestion_client, summer, **{"User-Agent": BOT}),
        await click(ingestion_client, winter, **{"User-Agent": DESKTOP}),
    ]
    async with geo:
        ids += [
            await click(geo, summer, **{"User-Agent": DESKTOP, "CF-IPCountry": "DE"}),
            await click(geo, winter, **{"User-Agent": IPHONE, "CF-IPCountry": "FR"}),
            await click(geo, winter, **{"User-Agent": IPHONE, "CF-IPCountry": "FR"}),
        ]

    # The clicks keep their CPC and CPM cost; their events now cost a CPA and a RevShare.
    await session.execute(
        text(
            "UPDATE campaigns SET cost_model = CASE WHEN name = 'Summer' THEN 'cpa' "
            "ELSE 'revshare' END, cost_value = CASE WHEN name = 'Summer' THEN 1.2 ELSE 25 END "
            "WHERE workspace_id = :w"
        ),
        {"w": ws},
    )
    await session.commit()

    async def send(click_id: str, **params: str) -> str:
        status, body = await postback(ingestion_client, secret, clickid=click_id, **params)
        assert status == 200, body
        return str(body["result"])

    assert await send(ids[0], status="pending", sum="12.5") == "accepted"
    assert await send(ids[0], status="approved") == "updated"
    assert await send(ids[4]) == "accepted"  # the offer's payout
    assert await send(ids[5], sum="7") == "accepted"
    assert await send(ids[0], type="transaction", txid="t1", sum="30") == "accepted"
    assert await send(ids[0], type="transaction", txid="t2", sum="0.333333") == "accepted"
    assert await send(ids[5], type="deposit", txid="d1", sum="10") == "accepted"
    assert await send(ids[5], type="deposit", txid="d2", sum="5.25") == "updated"
    assert await send(ids[5], type="deposit", txid="d2", sum="5.25") == "duplicate"
    await session.execute(
        text("DELETE FROM conversion_events WHERE workspace_id = :w AND txid = 't2'"), {"w": ws}
    )
    await session.commit()
    return ids


async def test_rollups_equal_the_raw_tables_after_real_ingestion(
    session: AsyncSession,
    engine: AsyncEngine,
    settings: Settings,
    ingestion_client: AsyncTestClient,  # type: ignore[type-arg]
    workspace: NewWorkspace,
):
    await ingest_a_realistic_mix(session, engine, settings, ingestion_client, workspace)
    await assert_rollups_match_raw_tables(session)
    totals = (
        await session.execute(
            text(
                "SELECT sum(clicks), sum(unique_clicks), sum(bot_clicks) "
                "FROM rollup_full_daily_clicks"
            )
        )
    ).one()
    assert tuple(totals) == (7, 5, 1)
    statuses = (
        await session.execute(
            text(
                "SELECT status, sum(events) FROM rollup_campaign_events "
                "WHERE attribution = 'conversion' GROUP BY status ORDER BY status"
            )
        )
    ).all()
    # The pending conversion became approved: no pending row is left behind.
    assert [tuple(s) for s in statuses] == [("approved", 5)]
    # Summer's two conversions at 1.2 (CPA); 25% of Winter's 7 and its 10 + 5.25 deposit.
    cost = await session.execute(text("SELECT sum(cost_micros) FROM rollup_geo_events"))
    assert cost.scalar_one() == 2 * (2_400_000 + 5_562_500)


async def test_manual_updates_and_deletes_of_clicks_keep_the_rollups_equal(
    session: AsyncSession,
    engine: AsyncEngine,
    settings: Settings,
    ingestion_client: AsyncTestClient,  # type: ignore[type-arg]
    workspace: NewWorkspace,
):
    ids = await ingest_a_realistic_mix(session, engine, settings, ingestion_client, workspace)
    # A click with events moves to another country: its events move along.
    await session.execute(text("UPDATE clicks SET country = 'AT' WHERE id = :id"), {"id": ids[0]})
    await session.execute(
        text("UPDATE clicks SET is_bot = true, cost = cost + 1 WHERE id = :id"), {"id": ids[3]}
    )
    await session.execute(text("DELETE FROM clicks WHERE id = ANY(:ids)"), {"ids": ids[1:3]})
    await session.execute(text("UPDATE conversion_events SET params = '{}'"))  # no net change
    await session.commit()
    await assert_rollups_match_raw_tables(session)


def _click_rows(
    workspace_id: int, campaign_id: int, moments: list[datetime], rng: random.Random
) -> list[tuple[Any, ...]]:
    rows = []
    for moment in moments:
        click_id, created_at = new_click_id(moment)
        values: dict[str, Any] = {
            "workspace_id": workspace_id,
            "created_at": created_at,
            "id": click_id,
            "campaign_id": campaign_id,
            "device_type": rng.choice(["mobile", "desktop", None]),
            "is_bot": rng.random() < 0.1,
            "is_unique": rng.random() < 0.7,
            "country": rng.choice(["DE", "FR", "US", None]),
            "cost": Decimal(rng.randrange(0, 100_000)) / 1_000_000,
            "params": "{}",
        }
        rows.append(tuple(values.get(column) for column in CLICK_COLUMNS))
    return rows


async def test_one_copy_of_many_rows_across_partitions_is_rolled_up(
    session: AsyncSession, engine: AsyncEngine, workspace: NewWorkspace
):
    ws = _id(workspace)
    campaign_id, _ = await _campaign(session, ws, name="Bulk")
    start = datetime(2030, 1, 30, tzinfo=UTC)  # months no other test uses
    async with engine.begin() as conn:
        await ensure_partitions(conn, since=start, until=start + timedelta(days=5))
    rng = random.Random(7)
    moments = [start + timedelta(seconds=rng.randrange(0, 4 * 86400)) for _ in range(5000)]
    async with driver_connection(engine) as conn:
        await conn.copy_records_to_table(
            "clicks", records=_click_rows(ws, campaign_id, moments, rng), columns=CLICK_COLUMNS
        )
    await compact(session)
    months = await session.execute(
        text(
            "SELECT date_trunc('month', hour, 'UTC'), sum(clicks) FROM rollup_geo_clicks "
            "GROUP BY 1 ORDER BY 1"
        )
    )
    assert [n for _, n in months] == [
        sum(m < datetime(2030, 2, 1, tzinfo=UTC) for m in moments),
        sum(m >= datetime(2030, 2, 1, tzinfo=UTC) for m in moments),
    ]
    await assert_rollups_match_raw_tables(session)


async def test_concurrent_batches_on_the_same_rollup_rows_do_not_deadlock(
    session: AsyncSession, engine: AsyncEngine, workspace: NewWorkspace
):
    ws = _id(workspace)
    campaign_id, _ = await _campaign(session, ws, name="Busy")
    now = datetime.now(UTC)
    hours = [now - timedelta(hours=i) for i in range(48)]
    batch_size = 500
    async with engine.begin() as sa_conn:
        await ensure_partitions(sa_conn, since=hours[-1], until=now)
    clicks = _click_rows(ws, campaign_id, hours * 5, random.Random(1))
    async with driver_connection(engine) as conn:
        await conn.copy_records_to_table("clicks", records=clicks, columns=CLICK_COLUMNS)
    type_id = (
        await session.execute(
            text(
                "SELECT id FROM conversion_types WHERE workspace_id = :w AND name = 'transaction'"
            ),
            {"w": ws},
        )
    ).scalar_one()

    async def worker(seed: int) -> None:
        rng = random.Random(seed)
        async with driver_connection(engine) as conn:
            for batch in range(10):
                # Each batch touches its own subset of the groups, so without the triggers'
                # ORDER BY their hash aggregates would lock rows in varying orders.
                some = rng.sample(hours, rng.randint(5, len(hours)))
                rows = _click_rows(
                    ws, campaign_id, [rng.choice(some) for _ in range(batch_size)], rng
                )
                rng.shuffle(rows)
                await conn.copy_records_to_table("clicks", records=rows, columns=CLICK_COLUMNS)
                targets = rng.sample(clicks, 40)
                # One statement per transaction (a transaction of several statements can
                # deadlock with another whatever the triggers do); rows in random order.
                await conn.execute(
                    "INSERT INTO conversion_events (workspace_id, click_created_at, click_id, "
                    "type_id, txid, dedup_txid, amount) "
                    "SELECT $1, t.created_at, t.id, $2, $3, $3, 1.5 "
                    "FROM unnest($4::timestamptz[], $5::text[]) AS t (created_at, id) "
                    "ORDER BY random()",
                    ws,
                    type_id,
                    f"w{seed}-{batch}",
                    [c[1] for c in targets],
                    [c[2] for c in targets],
                )

    try:
        await asyncio.wait_for(asyncio.gather(*(worker(seed) for seed in range(4))), 120)
    except asyncpg.DeadlockDetectedError:
        pytest.fail("concurrent batches deadlocked")
    await assert_rollups_match_raw_tables(session)
    total = (
        await session.execute(text("SELECT sum(clicks) FROM rollup_full_daily_clicks"))
    ).scalar()
    assert total == len(clicks) + 4 * 10 * batch_size


async def test_rebuild_reproduces_what_the_triggers_maintain(
    session: AsyncSession,
    engine: AsyncEngine,
    settings: Settings,
    ingestion_client: AsyncTestClient,  # type: ignore[type-arg]
    workspace: NewWorkspace,
):
    ids = await ingest_a_realistic_mix(session, engine, settings, ingestion_client, workspace)
    await session.execute(text("DELETE FROM clicks WHERE id = :id"), {"id": ids[1]})
    await compact(session)
    before = {r.name: await rollup_contents(session, r) for r in ROLLUPS}
    async with engine.begin() as conn:
        written = await rebuild_rollups(conn)
    assert {r.name: await rollup_contents(session, r) for r in ROLLUPS} == before
    assert written == sum(len(c) + len(e) for c, e in before.values())


async def test_rebuild_of_one_workspace_catches_up_after_a_load_without_triggers(
    session: AsyncSession, engine: AsyncEngine, workspace: NewWorkspace
):
    other = await create_workspace(session, name="Other")
    await session.commit()
    ours, theirs = _id(workspace), _id(other)
    ours_campaign, _ = await _campaign(session, ours, name="Ours")
    theirs_campaign, _ = await _campaign(session, theirs, name="Theirs")
    now = datetime.now(UTC)
    rng = random.Random(3)
    async with driver_connection(engine) as conn:
        await conn.copy_records_to_table(
            "clicks",
            records=_click_rows(theirs, theirs_campaign, [now] * 10, rng),
            columns=CLICK_COLUMNS,
        )
        await conn.execute("ALTER TABLE clicks DISABLE TRIGGER rollups_insert")
        try:
            await conn.copy_records_to_table(
                "clicks",
                records=_click_rows(ours, ours_campaign, [now] * 50, rng),
                columns=CLICK_COLUMNS,
            )
        finally:
            await conn.execute("ALTER TABLE clicks ENABLE TRIGGER rollups_insert")
    theirs_before = await _full_clicks_of(session, theirs)
    await session.commit()
    async with engine.begin() as conn:
        await rebuild_rollups(conn, workspace_id=ours)
    await assert_rollups_match_raw_tables(session)
    theirs_after = await _full_clicks_of(session, theirs)
    assert theirs_after == theirs_before


async def _full_clicks_of(session: AsyncSession, workspace_id: int) -> list[Any]:
    await compact(session)
    rows = await session.execute(
        text(
            "SELECT * FROM rollup_full_daily_clicks WHERE workspace_id = :w "
            "ORDER BY 1, 2, 3, 4, 5, 6, 7, 8"
        ),
        {"w": workspace_id},
    )
    return list(rows.all())


async def test_the_database_runs_the_trigger_sql_of_the_rollup_definitions(session: AsyncSession):
    """Fails when models.rollups changes without a migration that installs its new SQL."""
    installed: dict[str, str] = dict(
        (
            await session.execute(
                text("SELECT proname, prosrc FROM pg_proc WHERE proname LIKE 'rollups\\_%'")
            )
        ).all()
    )
    assert installed == trigger_functions()
    triggers = await session.execute(
        text(
            "SELECT tgrelid::regclass::text, tgname, tgfoid::regproc::text FROM pg_trigger "
            "WHERE tgname LIKE 'rollups\\_%'"
        )
    )
    assert sorted(tuple(t) for t in triggers) == sorted(
        (table, f"rollups_{event.lower()}", function) for table, event, _, function in TRIGGERS
    )


async def test_each_rollup_key_holds_its_measures_for_index_only_reads(session: AsyncSession):
    """Alembic compares no INCLUDE columns: this fails when the migrations and models differ."""
    rows = await session.execute(
        text(
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'u' AND conrelid::regclass::text LIKE 'rollup\\_%'"
        )
    )
    expected = {
        table: f"UNIQUE NULLS NOT DISTINCT ({', '.join(key)}) INCLUDE ({', '.join(measures)})"
        for r in ROLLUPS
        for table, key, measures in (
            (r.clicks_table, r.clicks_key, CLICK_MEASURES),
            (r.events_table, r.events_key, EVENT_MEASURES),
        )
    }
    assert dict(rows.all()) == expected


async def test_rebuilding_one_workspace_holds_up_only_that_workspaces_writers(
    session: AsyncSession, engine: AsyncEngine, workspace: NewWorkspace
):
    other = await create_workspace(session, name="Other", timezone="Asia/Tokyo")
    await session.commit()
    ours, theirs = _id(workspace), _id(other)
    ours_campaign, _ = await _campaign(session, ours, name="Ours")
    theirs_campaign, _ = await _campaign(session, theirs, name="Theirs")
    now = datetime.now(UTC)
    rng = random.Random(5)

    async def write(workspace_id: int, campaign_id: int) -> None:
        async with driver_connection(engine) as conn:
            await conn.copy_records_to_table(
                "clicks",
                records=_click_rows(workspace_id, campaign_id, [now] * 20, rng),
                columns=CLICK_COLUMNS,
            )

    await write(ours, ours_campaign)
    async with engine.connect() as rebuilding:
        await rebuild_rollups(rebuilding, workspace_id=ours)
        await asyncio.wait_for(write(theirs, theirs_campaign), 10)
        held_up = asyncio.create_task(write(ours, ours_campaign))
        await asyncio.sleep(1)
        assert not held_up.done()
        await rebuilding.commit()
    await asyncio.wait_for(held_up, 10)
    await assert_rollups_match_raw_tables(session)
    clicks = await session.execute(
        text(
            "SELECT workspace_id, timezone, sum(clicks) FROM rollup_geo_daily_clicks "
            "GROUP BY 1, 2 ORDER BY 1"
        )
    )
    assert [tuple(row) for row in clicks] == [
        (ours, "Europe/Berlin", 40),
        (theirs, "Asia/Tokyo", 20),
    ]


async def test_rebuild_of_some_rollups_leaves_the_others_alone(
    session: AsyncSession, engine: AsyncEngine, workspace: NewWorkspace
):
    campaign_id, _ = await _campaign(session, _id(workspace), name="Some")
    async with driver_connection(engine) as conn:
        await conn.copy_records_to_table(
            "clicks",
            records=_click_rows(
                _id(workspace), campaign_id, [datetime.now(UTC)] * 10, random.Random(9)
            ),
            columns=CLICK_COLUMNS,
        )
    await session.execute(text("DELETE FROM rollup_geo_clicks"))
    await session.execute(text("DELETE FROM rollup_geo_daily_clicks"))
    await session.commit()
    daily = [r for r in ROLLUPS if r.grain == "day"]
    async with engine.begin() as conn:
        await rebuild_rollups(conn, workspace_id=_id(workspace), rollups=daily)
    for table, expected in (("rollup_geo_daily_clicks", 10), ("rollup_geo_clicks", None)):
        total = (await session.execute(text(f"SELECT sum(clicks) FROM {table}"))).scalar()
        assert total == expected, table
