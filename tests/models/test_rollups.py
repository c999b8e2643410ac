"""Rollups are kept equal to the raw tables by their writers, and by a rebuild after manual SQL."""

import asyncio
import random
import time as time_module
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
from ingestion.clicks.records import ClickRecord
from ingestion.clicks.writer import ClickWriter
from ingestion.costs.service import apply_cost_updates
from models.click import CLICK_COLUMNS
from models.click_ids import new_click_id
from models.cost_requests import ClickScope, CostRequest, cost_update_progress, take_cost_update
from models.database import driver_connection
from models.enums import CostModel, CostUpdateMode
from models.partitions import ensure_partitions
from models.rollups import (
    CLICK_MEASURES,
    EVENT_MEASURES,
    ROLLUPS,
    ClickChanges,
    Rollup,
    begin_shared,
    compact_rollups,
    rebuild_rollups,
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
    """Clicks and postbacks through the real apps; returns the click ids."""
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
    assert [tuple(s) for s in statuses] == [("approved", 6)]
    # Summer's two conversions at 1.2 (CPA); 25% of Winter's 7 and its 10 + 5.25 deposit.
    cost = await session.execute(text("SELECT sum(cost_micros) FROM rollup_geo_events"))
    assert cost.scalar_one() == 2 * (2_400_000 + 5_562_500)


async def test_a_rebuild_catches_up_with_manual_updates_and_deletes(
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
    await compact(session)
    full = ROLLUPS[2]
    # Manual SQL writes no changes: the rollups still count the clicks as they were.
    assert await rollup_contents(session, full) != await raw_aggregates(session, full)
    async with engine.begin() as conn:
        await rebuild_rollups(conn, workspace_id=_id(workspace))
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


def _click_records(
    workspace_id: int, campaign_id: int, count: int, rng: random.Random
) -> list[ClickRecord]:
    """Clicks as the tracking link hands them to the click writer, from a few visitors."""
    records = []
    for _ in range(count):
        click_id, created_at = new_click_id(datetime.now(UTC))
        records.append(
            ClickRecord(
                workspace_id=workspace_id,
                created_at=created_at,
                id=click_id,
                campaign_id=campaign_id,
                offer_id=None,
                traffic_source_id=None,
                ip=None,
                user_agent=None,
                device_type=rng.choice(["mobile", "desktop"]),
                os=None,
                browser=None,
                is_bot=rng.random() < 0.1,
                country=rng.choice(["DE", "FR", None]),
                referrer=None,
                external_id=None,
                cost=Decimal(rng.randrange(0, 100_000)) / 1_000_000,
                subs=(None,) * 20,
                params="{}",
                fingerprint=bytes([rng.randrange(8)]),
            )
        )
    return records


async def test_a_rebuild_counts_one_copy_of_many_rows_across_partitions(
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
    async with engine.begin() as sa_conn:
        await rebuild_rollups(sa_conn, workspace_id=ws)
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


async def test_concurrent_writers_compaction_and_rebuilds_keep_the_rollups_equal(
    session: AsyncSession,
    engine: AsyncEngine,
    ingestion_client: AsyncTestClient,  # type: ignore[type-arg]
    workspace: NewWorkspace,
):
    """Clicks and postbacks of two workspaces through the real app, while a compactor and a
    rebuild of one workspace run in a loop: no change is lost or counted twice, no deadlock."""
    other = await create_workspace(session, name="Other", timezone="Asia/Kolkata")
    await session.commit()
    workspaces = [workspace, other]
    keys = []
    for i, w in enumerate(workspaces):
        for name, model, value in (
            ("Per click", CostModel.CPC, "0.013"),
            ("Share", CostModel.REVSHARE, "30"),
        ):
            _, key = await _campaign(
                session, _id(w), name=f"{name} {i}", cost_model=model, cost_value=Decimal(value)
            )
            keys.append((w, key))
    clicked: list[tuple[NewWorkspace, str]] = []
    done = asyncio.Event()

    async def clicker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(40):
            w, key = rng.choice(keys)
            agent = rng.choice([IPHONE, DESKTOP, BOT, f"agent {rng.randrange(5)}"])
            clicked.append((w, await click(ingestion_client, key, **{"User-Agent": agent})))

    async def converter(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(40):
            if not clicked:
                await asyncio.sleep(0.01)
                continue
            w, click_id = rng.choice(clicked)
            params = rng.choice(
                [
                    {"status": "pending", "sum": str(rng.randrange(1, 50))},
                    {"status": "approved"},
                    {"status": "declined"},
                    {"type": "transaction", "txid": str(rng.randrange(3)), "sum": "2.125"},
                ]
            )
            status, body = await postback(
                ingestion_client, w.postback_secret, clickid=click_id, **params
            )
            assert status in (200, 409), body

    async def compactor() -> None:
        while not done.is_set():
            async with engine.begin() as conn:
                await compact_rollups(conn)
            await asyncio.sleep(0.05)

    async def rebuilder() -> None:
        while not done.is_set():
            async with engine.begin() as conn:
                await rebuild_rollups(conn, workspace_id=_id(workspace))
            await asyncio.sleep(0.1)

    # The test client answers a request before the next task runs; these writers' batches
    # meet the compactor, the rebuild and each other in the database.
    writers = [
        ClickWriter(engine, durable=True, unique_window=timedelta(hours=1), flush_interval_s=0.0)
        for _ in range(3)
    ]
    campaign_ids = [
        (_id(w), campaign_id)
        for w in workspaces
        for campaign_id in (
            await session.execute(
                text("SELECT id FROM campaigns WHERE workspace_id = :w"), {"w": _id(w)}
            )
        ).scalars()
    ]

    async def batches(writer: ClickWriter, seed: int) -> None:
        rng = random.Random(seed)
        await writer.start()
        for _ in range(15):
            units = [
                _click_records(*rng.choice(campaign_ids), rng.randint(1, 3), rng)
                for _ in range(rng.randint(1, 30))
            ]
            await asyncio.gather(*(writer.write(*unit) for unit in units))
        await writer.stop()

    background = [asyncio.create_task(compactor()), asyncio.create_task(rebuilder())]
    try:
        await asyncio.wait_for(
            asyncio.gather(
                *(clicker(s) for s in range(3)),
                *(converter(s) for s in range(3)),
                *(batches(writer, s) for s, writer in enumerate(writers)),
            ),
            120,
        )
    except asyncpg.DeadlockDetectedError:
        pytest.fail("concurrent writers deadlocked")
    finally:
        done.set()
        await asyncio.gather(*background)
    assert len(clicked) == 120
    events = await session.scalar(text("SELECT count(*) FROM conversion_events"))
    assert (events or 0) > 20
    await assert_rollups_match_raw_tables(session)


async def test_cost_updates_while_clicks_arrive_keep_the_rollups_equal_and_totals_exact(
    session: AsyncSession, engine: AsyncEngine, workspace: NewWorkspace
):
    """A cost update over a range clicks are still arriving in, in small batches, beside the
    click writer, the compactor and a rebuild: the rollups equal the raw rows afterwards, and
    the costs the update set sum to its total exactly."""
    ws = _id(workspace)
    campaign_id, _ = await _campaign(
        session, ws, name="Live", cost_model=CostModel.CPC, cost_value=Decimal("0.013")
    )
    other_id, _ = await _campaign(session, ws, name="Other", cost_model=CostModel.CPC)
    writer = ClickWriter(engine, durable=True, unique_window=timedelta(hours=1), flush_interval_s=0)
    await writer.start()
    rng = random.Random(11)
    stop = asyncio.Event()

    async def clicks_arrive() -> None:
        while not stop.is_set():
            units = [
                _click_records(ws, rng.choice([campaign_id, other_id]), rng.randint(1, 3), rng)
                for _ in range(rng.randint(1, 10))
            ]
            await asyncio.gather(*(writer.write(*unit) for unit in units))

    async def compactor() -> None:
        while not stop.is_set():
            async with engine.begin() as conn:
                await compact_rollups(conn)
            await asyncio.sleep(0.02)

    async def rebuilder() -> None:
        while not stop.is_set():
            async with engine.begin() as conn:
                await rebuild_rollups(conn, workspace_id=ws)
            await asyncio.sleep(0.2)

    now = datetime.now(UTC)
    total = Decimal("123.456789")
    background = [asyncio.create_task(f()) for f in (clicks_arrive, compactor, rebuilder)]
    try:
        deadline = time_module.monotonic() + 30
        while await _clicks_of(engine, ws, campaign_id) < 40:
            assert time_module.monotonic() < deadline, "the clicks did not arrive"
            await asyncio.sleep(0.05)
        updates = []
        for asked in (
            CostRequest(
                workspace_id=ws,
                scope=ClickScope(campaign_id, now - timedelta(hours=1), now + timedelta(hours=1)),
                mode=CostUpdateMode.TOTAL,
                amount=total,
            ),
            CostRequest(
                workspace_id=ws,
                scope=ClickScope(other_id, now - timedelta(hours=1), now + timedelta(hours=1)),
                mode=CostUpdateMode.PER_CLICK,
                amount=Decimal("0.02"),
            ),
        ):
            async with driver_connection(engine) as conn:
                updates.append(await take_cost_update(conn, asked, batch_clicks=7, plan_clicks=11))
            await asyncio.wait_for(apply_cost_updates(engine, workspace_id=ws), 60)
    except asyncpg.DeadlockDetectedError:
        pytest.fail("a cost update deadlocked with ingestion")
    finally:
        stop.set()
        await asyncio.gather(*background)
        await writer.stop()
    async with driver_connection(engine) as conn:
        done = [await cost_update_progress(conn, workspace_id=ws, update_id=u.id) for u in updates]
    spread, per_click = done
    assert spread is not None
    assert per_click is not None
    assert spread.planned_clicks >= 40
    assert (spread.finished, spread.new_total) == (True, total)
    assert per_click.new_total == Decimal("0.02") * per_click.clicks_touched
    await assert_rollups_match_raw_tables(session)


async def _clicks_of(engine: AsyncEngine, workspace_id: int, campaign_id: int) -> int:
    async with driver_connection(engine) as conn:
        found: int = await conn.fetchval(
            "SELECT count(*) FROM clicks WHERE workspace_id = $1 AND campaign_id = $2",
            workspace_id,
            campaign_id,
        )
    return found


async def test_rebuild_reproduces_what_the_writers_maintain(
    session: AsyncSession,
    engine: AsyncEngine,
    settings: Settings,
    ingestion_client: AsyncTestClient,  # type: ignore[type-arg]
    workspace: NewWorkspace,
):
    ids = await ingest_a_realistic_mix(session, engine, settings, ingestion_client, workspace)
    async with engine.begin() as conn:
        await rebuild_rollups(conn, workspace_id=_id(workspace))
    status, _ = await postback(ingestion_client, workspace.postback_secret, clickid=ids[6])
    assert status == 200
    await compact(session)
    before = {r.name: await rollup_contents(session, r) for r in ROLLUPS}
    async with engine.begin() as conn:
        written = await rebuild_rollups(conn, workspace_id=_id(workspace))
    assert {r.name: await rollup_contents(session, r) for r in ROLLUPS} == before
    assert written == sum(len(c) + len(e) for c, e in before.values())


async def test_rebuild_of_one_workspace_catches_up_after_a_bulk_load(
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
        await conn.copy_records_to_table(
            "clicks",
            records=_click_rows(ours, ours_campaign, [now] * 50, rng),
            columns=CLICK_COLUMNS,
        )
    async with engine.begin() as sa_conn:
        await rebuild_rollups(sa_conn, workspace_id=theirs)
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
    writer = ClickWriter(
        engine, durable=True, unique_window=timedelta(hours=1), flush_interval_s=0.0
    )
    await writer.start()
    rng = random.Random(5)

    async def write(workspace_id: int, campaign_id: int) -> None:
        await writer.write(*_click_records(workspace_id, campaign_id, 20, rng))

    await write(ours, ours_campaign)
    async with engine.connect() as rebuilding:
        await rebuild_rollups(rebuilding, workspace_id=ours)
        await asyncio.wait_for(write(theirs, theirs_campaign), 10)
        held_up = asyncio.create_task(write(ours, ours_campaign))
        await asyncio.sleep(1)
        assert not held_up.done()
        await rebuilding.commit()
    await asyncio.wait_for(held_up, 10)
    await writer.stop()
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


async def test_changes_written_out_as_sql_keep_any_text_as_it_is(
    engine: AsyncEngine, workspace: NewWorkspace
):
    """The click writer sends its sums as literals: quotes and backslashes stay data."""
    hostile = ("D'", "a\\'); DROP TABLE clicks; --\\")
    changes = ClickChanges()
    moment = datetime(2030, 1, 1, 12, 7, tzinfo=UTC)
    changes.add(
        _id(workspace),
        moment,
        (1, None, 2**62, *hostile),
        unique=True,
        bot=False,
        cost=Decimal("999999999999.999999"),
    )
    async with driver_connection(engine) as conn:
        await conn.execute(f"{begin_shared([_id(workspace)])}; {changes.insert_sql()}; COMMIT")
        row = await conn.fetchrow(
            "SELECT * FROM rollup_clicks_pending WHERE workspace_id = $1", _id(workspace)
        )
    assert row is not None
    assert (row["slot"], row["offer_id"], row["traffic_source_id"]) == (
        datetime(2030, 1, 1, 12, 0, tzinfo=UTC),
        None,
        2**62,
    )
    assert (row["country"], row["device_type"]) == hostile
    assert row["cost_micros"] == 999_999_999_999_999_999
