"""How long a cost update over a million clicks takes, and what it does to ingestion meanwhile.

    PYTHONPATH=. .venv/bin/python bench/costs.py [--clicks 1000000] [--ingest-s 10]

Against DATABASE_URL (default: the PostgreSQL on 127.0.0.1:5432), in a scratch database built
by the migrations and dropped at the end. One campaign's clicks are spread over a day (six
countries, four device types, so each batch writes rollup changes to a few hundred
signatures) and counted into the rollups. A second process writes clicks of another campaign
through the click writer (durable mode, as the tracking link does) the whole time: its
clicks/s alone, then while the update runs, is what the update costs ingestion.

Each update is taken (planned and recorded) and then applied batch by batch as `clicktrail
update-costs` does: first a cost per click over all the campaign's clicks with nothing else
running (clean CPU figures), then a total spread over them while ingestion runs. Afterwards
the click costs must sum to the total exactly and the rollups must equal the raw rows.
"""

import argparse
import asyncio
import multiprocessing
import os
import random
import secrets
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

import asyncpg
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker

from api.catalog.service import create_campaign
from api.workspaces.service import create_workspace
from bench.machine import cpu_times
from bench.rollups import DEFAULT_URL, _dsn
from ingestion.clicks.records import ClickRecord
from ingestion.clicks.writer import ClickWriter
from ingestion.costs.service import apply_cost_updates
from models.click import CLICK_COLUMNS
from models.click_ids import new_click_id
from models.cost_requests import ClickScope, CostRequest, take_cost_update
from models.database import create_engine, display_url, driver_connection
from models.enums import CostUpdateMode
from models.migrate import upgrade
from models.partitions import ensure_partitions
from models.rollups import compact_rollups, rebuild_rollups
from models.settings import Settings

COUNTRIES = ("DE", "FR", "US", "GB", "IT", None)
DEVICES = ("mobile", "desktop", "tablet", None)
TOTAL = Decimal("12345.678901")
# Concurrent tracking-link requests the ingestion process keeps in flight.
INGEST_CONCURRENCY = 20


async def _seed(url: str) -> tuple[int, int, int]:
    """A workspace, the campaign whose costs are updated and the one ingestion writes to."""
    engine = create_engine(url, Settings(database_url=url), application_name="bench-seed")
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            created = await create_workspace(session, name="bench", timezone="UTC")
            workspace_id = created.workspace.id
            assert workspace_id is not None
            ids = []
            for name in ("costed", "live"):
                made = await create_campaign(
                    session,
                    workspace_id=workspace_id,
                    name=name,
                    offer_url="https://o.example/?c={clickid}",
                    source_name=f"source {name}",
                )
                assert made.campaign.id is not None
                ids.append(made.campaign.id)
            await session.commit()
    finally:
        await engine.dispose()
    return workspace_id, ids[0], ids[1]


async def _load(url: str, workspace_id: int, campaign_id: int, count: int, day: datetime) -> None:
    engine = create_engine(url, Settings(database_url=url), application_name="bench-load")
    rng = random.Random(7)
    try:
        async with engine.begin() as conn:
            await ensure_partitions(conn, since=day, until=day + timedelta(days=1))
        async with driver_connection(engine) as conn:
            for start in range(0, count, 100_000):
                rows = []
                for _ in range(min(100_000, count - start)):
                    moment = day + timedelta(microseconds=rng.randrange(86_400_000_000))
                    click_id, created_at = new_click_id(moment)
                    values: dict[str, object] = {
                        "workspace_id": workspace_id,
                        "created_at": created_at,
                        "id": click_id,
                        "campaign_id": campaign_id,
                        "country": rng.choice(COUNTRIES),
                        "device_type": rng.choice(DEVICES),
                        "is_bot": False,
                        "is_unique": True,
                        "cost": Decimal("0.01"),
                        "params": "{}",
                    }
                    rows.append(tuple(values.get(column) for column in CLICK_COLUMNS))
                await conn.copy_records_to_table("clicks", records=rows, columns=CLICK_COLUMNS)
            # Fresh partitions: the planner needs statistics (FACTS.md: autovacuum is off).
            await conn.execute("ANALYZE clicks")
        async with engine.begin() as conn:
            await rebuild_rollups(conn, workspace_id=workspace_id)
    finally:
        await engine.dispose()


def _ingest(url: str, workspace_id: int, campaign_id: int, written: "Synchronized[int]") -> None:
    """The ingestion process: clicks through the click writer until it is terminated."""

    async def run() -> None:
        engine = create_engine(url, Settings(database_url=url), application_name="bench-ingest")
        writer = ClickWriter(
            engine, durable=True, unique_window=timedelta(hours=1), flush_interval_s=0.05
        )
        await writer.start()
        rng = random.Random(os.getpid())

        async def visitor() -> None:
            while True:
                click_id, created_at = new_click_id(datetime.now(UTC))
                await writer.write(
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
                        is_bot=False,
                        country=rng.choice(["DE", "FR"]),
                        referrer=None,
                        external_id=None,
                        cost=Decimal("0.02"),
                        subs=(None,) * 20,
                        params="{}",
                        fingerprint=rng.randbytes(8),
                    )
                )
                with written.get_lock():
                    written.value += 1

        await asyncio.gather(*(visitor() for _ in range(INGEST_CONCURRENCY)))

    asyncio.run(run())


async def _rate(written: "Synchronized[int]", seconds: float) -> float:
    before, started = written.value, time.perf_counter()
    await asyncio.sleep(seconds)
    return (written.value - before) / (time.perf_counter() - started)


async def _update(url: str, request: CostRequest, written: "Synchronized[int]", label: str) -> None:
    # An engine of its own: its backends' CPU is the update's share of PostgreSQL's (other
    # clients of the same server come and go, so the server's total says little).
    engine = create_engine(url, Settings(database_url=url), application_name="bench-costs")
    try:
        started, own = time.perf_counter(), time.process_time()
        before = cpu_times(os.getpid())
        ingested = written.value
        async with driver_connection(engine) as conn:
            update = await take_cost_update(conn, request)
        planned = time.perf_counter() - started
        await apply_cost_updates(engine, workspace_id=request.workspace_id)
        elapsed = time.perf_counter() - started
        own = time.process_time() - own
        machine = (cpu_times(os.getpid()) - before).machine
        ingest_rate = (written.value - ingested) / elapsed
        async with driver_connection(engine) as conn:
            pids = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'bench-costs'"
            )
        database = _backend_seconds(int(row["pid"]) for row in pids)
    finally:
        await engine.dispose()
    clicks = update.planned_clicks
    print(
        f"{label:10} {clicks:,} clicks in {elapsed:5.1f} s ({planned:4.1f} s to plan, "
        f"{update.batches} batches): {clicks / elapsed:7,.0f} clicks/s; ingestion meanwhile "
        f"{ingest_rate:,.0f} clicks/s"
    )
    n = clicks / 1000
    print(
        f"{'':10} CPU per 1,000 clicks: update process {own / n * 1e3:.0f} ms, its PostgreSQL "
        f"backends {database / n * 1e3:.0f} ms; machine (everyone) {machine / n * 1e3:.0f} ms"
    )


def _backend_seconds(pids: Iterable[int]) -> float:
    """CPU seconds the server's processes of these pids have used (the database is local)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


async def _check(url: str, workspace_id: int, campaign_id: int) -> None:
    engine = create_engine(url, Settings(database_url=url), application_name="bench-check")
    try:
        async with engine.begin() as conn:
            await compact_rollups(conn)
        async with driver_connection(engine) as conn:
            raw = await conn.fetchval(
                "SELECT sum((cost * 1000000)::bigint) FROM clicks WHERE workspace_id = $1",
                workspace_id,
            )
            rolled = await conn.fetchval(
                "SELECT sum(cost_micros) FROM rollup_campaign_clicks WHERE workspace_id = $1",
                workspace_id,
            )
            spread = await conn.fetchval(
                "SELECT sum(cost) FROM clicks WHERE workspace_id = $1 AND campaign_id = $2",
                workspace_id,
                campaign_id,
            )
    finally:
        await engine.dispose()
    assert raw == rolled, (raw, rolled)
    assert spread == TOTAL, spread
    print(f"the clicks' costs sum to the total exactly: {spread}")
    print(f"rollups equal the raw rows: {rolled:,} millionths of cost in both")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clicks", type=int, default=1_000_000)
    parser.add_argument("--ingest-s", type=float, default=10.0, help="ingestion alone, first")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    name = f"clicktrail_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(_dsn(url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    ingest: multiprocessing.Process | None = None
    try:
        scratch = make_url(url).set(database=name).render_as_string(hide_password=False)
        engine = create_engine(scratch, Settings(database_url=scratch), application_name="bench")
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        print(f"PostgreSQL {await admin.fetchval('SHOW server_version')} at {display_url(url)}")
        workspace_id, costed, live = await _seed(scratch)
        day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
            days=2
        )
        started = time.perf_counter()
        await _load(scratch, workspace_id, costed, args.clicks, day)
        print(
            f"{args.clicks:,} clicks loaded and rolled up in {time.perf_counter() - started:.0f} s"
        )

        scope = ClickScope(campaign_id=costed, starts_at=day, ends_at=day + timedelta(days=1))
        written = multiprocessing.Value("q", 0)
        await _update(
            scratch,
            CostRequest(
                workspace_id=workspace_id,
                scope=scope,
                mode=CostUpdateMode.PER_CLICK,
                amount=Decimal("0.0123"),
            ),
            written,
            "per click",
        )
        ingest = multiprocessing.Process(
            target=_ingest, args=(scratch, workspace_id, live, written), daemon=True
        )
        ingest.start()
        await _rate(written, 3)  # warm up
        alone = await _rate(written, args.ingest_s)
        print(f"ingestion alone: {alone:,.0f} clicks/s ({INGEST_CONCURRENCY} at a time, durable)")
        await _update(
            scratch,
            CostRequest(
                workspace_id=workspace_id, scope=scope, mode=CostUpdateMode.TOTAL, amount=TOTAL
            ),
            written,
            "total",
        )
        after = await _rate(written, args.ingest_s)
        print(f"ingestion alone again: {after:,.0f} clicks/s")
        ingest.terminate()
        ingest.join()
        ingest = None
        await _check(scratch, workspace_id, costed)
    finally:
        if ingest is not None:
            ingest.terminate()
            ingest.join()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
