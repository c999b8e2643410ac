"""How fast an uploaded conversion file is taken and applied: rows/s and CPU per row.

    PYTHONPATH=. .venv/bin/python bench/uploads.py [--rows 50000] [--rounds 3]

Against DATABASE_URL (default: the PostgreSQL on 127.0.0.1:5432), in a scratch database built
by the migrations and dropped at the end. The file is what a network exports: one row per
click, three in four of them a conversion and one in four a transaction, a tenth in EUR
(converted at a stored rate), with conversion times. Each round uploads a fresh file (new
clicks) the way `clicktrail upload-conversions` does: read and check the file, store the job
and its rows in one transaction, then apply every row through the postback path. A last run
uploads the first round's rows again in another file: every row is then a duplicate, the
slow path (one locked look-up per row).
"""

import argparse
import asyncio
import os
import random
import secrets
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker

from api.catalog.service import create_campaign
from api.workspaces.service import create_workspace
from bench.machine import cpu_times, process_seconds
from bench.rollups import DEFAULT_URL, _dsn
from ingestion.uploads.service import process_job
from models.click import CLICK_COLUMNS
from models.click_ids import new_click_id
from models.database import create_engine, display_url, driver_connection
from models.migrate import upgrade
from models.settings import Settings
from models.upload_files import read_upload
from models.upload_jobs import store_upload

CAMPAIGNS = 5
APPLICATION = "bench-uploads"


async def _seed(url: str) -> tuple[int, list[tuple[int, int, int]]]:
    """A workspace (USD, an EUR rate) and its campaigns as (campaign, offer, source) ids."""
    engine = create_engine(url, Settings(database_url=url), application_name="bench-seed")
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            created = await create_workspace(session, name="bench", timezone="UTC")
            workspace_id = created.workspace.id
            assert workspace_id is not None
            campaigns = []
            for i in range(CAMPAIGNS):
                made = await create_campaign(
                    session,
                    workspace_id=workspace_id,
                    name=f"campaign {i}",
                    offer_url="https://o.example/?c={clickid}",
                    source_name=f"source {i}",
                    payout=Decimal("2.5"),
                )
                assert made.campaign.id is not None
                assert made.offer.id is not None
                assert made.campaign.traffic_source_id is not None
                campaigns.append((made.campaign.id, made.offer.id, made.campaign.traffic_source_id))
            await session.commit()
    finally:
        await engine.dispose()
    return workspace_id, campaigns


def _clicks(
    workspace_id: int, campaigns: list[tuple[int, int, int]], rng: random.Random, count: int
) -> list[tuple[object, ...]]:
    rows = []
    for _ in range(count):
        click_id, created_at = new_click_id(datetime.now(UTC) - timedelta(hours=1))
        campaign_id, offer_id, source_id = rng.choice(campaigns)
        values: dict[str, object] = {
            "workspace_id": workspace_id,
            "created_at": created_at,
            "id": click_id,
            "campaign_id": campaign_id,
            "offer_id": offer_id,
            "traffic_source_id": source_id,
            "is_bot": False,
            "is_unique": True,
            "cost": Decimal("0.05"),
            "params": "{}",
        }
        rows.append(tuple(values.get(column) for column in CLICK_COLUMNS))
    return rows


def _file(click_ids: list[str], rng: random.Random, *, header: str) -> bytes:
    when = (datetime.now(UTC) - timedelta(minutes=5)).isoformat(timespec="seconds")
    lines = [header]
    for i, click_id in enumerate(click_ids):
        kind = "transaction" if rng.random() < 0.25 else "conversion"
        currency = "EUR" if rng.random() < 0.1 else "USD"
        lines.append(
            f"{click_id},{kind},T{i},{rng.randint(100, 99_999) / 100},{currency},approved,{when}"
        )
    return ("\n".join(lines) + "\n").encode()


async def _round(url: str, data: bytes, workspace_id: int, label: str) -> None:
    engine = create_engine(url, Settings(database_url=url), application_name=APPLICATION)
    try:
        before, started = cpu_times(os.getpid()), time.perf_counter()
        upload = read_upload(data)
        async with driver_connection(engine) as conn, conn.transaction():
            job = await store_upload(
                conn, workspace_id=workspace_id, filename=f"{label}.csv", upload=upload
            )
        stored = time.perf_counter() - started
        await process_job(
            engine, workspace_id=workspace_id, job_id=job.id, received_at=job.created_at
        )
        elapsed = time.perf_counter() - started
        used = cpu_times(os.getpid()) - before
        async with driver_connection(engine) as conn:
            counts = await conn.fetchrow(
                "SELECT accepted, duplicate, rejected FROM upload_jobs "
                "WHERE workspace_id = $1 AND id = $2",
                workspace_id,
                job.id,
            )
            assert counts is not None
            # The round's own sessions were opened for it: their lifetime CPU is the round's,
            # whatever else the machine's PostgreSQL serves meanwhile.
            pids = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1", APPLICATION
            )
            sessions_cpu = sum(process_seconds(row["pid"]) for row in pids)
    finally:
        await engine.dispose()
    rows = len(upload.rows)
    print(
        f"{label:12} {rows:,} rows in {elapsed:5.1f} s ({stored:4.1f} s to read and store): "
        f"{rows / elapsed:7,.0f} rows/s; accepted {counts['accepted']:,}, duplicate "
        f"{counts['duplicate']:,}, rejected {counts['rejected']:,}; "
        f"{used.per_request_us(rows).replace('request', 'row')}; CPU of its own sessions "
        f"(the uploading process, its PostgreSQL backends): {used.service:.1f} s, "
        f"{sessions_cpu:.1f} s ({used.service / rows * 1e6:.0f} + "
        f"{sessions_cpu / rows * 1e6:.0f} us per row)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    name = f"clicktrail_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(_dsn(url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        scratch = make_url(url).set(database=name).render_as_string(hide_password=False)
        engine = create_engine(scratch, Settings(database_url=scratch), application_name="bench")
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        workspace_id, campaigns = await _seed(scratch)
        conn = await asyncpg.connect(_dsn(url, name))
        try:
            version = await conn.fetchval("SHOW server_version")
            print(f"PostgreSQL {version} at {display_url(url)}")
            await conn.execute(
                "INSERT INTO currency_rates (workspace_id, currency, valid_from, rate) "
                "VALUES ($1, 'EUR', now() - interval '1 day', 1.08)",
                workspace_id,
            )
            rng = random.Random(7)
            files = []
            for _ in range(args.rounds):
                clicks = _clicks(workspace_id, campaigns, rng, args.rows)
                await conn.copy_records_to_table("clicks", records=clicks, columns=CLICK_COLUMNS)
                ids = [str(row[CLICK_COLUMNS.index("id")]) for row in clicks]
                files.append(
                    _file(ids, rng, header="clickid,type,txid,payout,currency,status,time")
                )
            # Fresh partitions: the planner needs statistics (FACTS.md: autovacuum is off).
            await conn.execute("ANALYZE")
        finally:
            await conn.close()
        for i, data in enumerate(files, start=1):
            await _round(scratch, data, workspace_id, f"round {i}")
        again = files[0].replace(b"clickid,", b"subid,", 1)
        await _round(scratch, again, workspace_id, "re-upload")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
