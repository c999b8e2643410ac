"""How long planning a cost update takes, statement by statement, over millions of clicks.

    PYTHONPATH=. .venv/bin/python bench/cost_plans.py [--clicks 3000000] [--rounds 2]

Against DATABASE_URL (default: the PostgreSQL on 127.0.0.1:5432), in a scratch database built
by the migrations and dropped at the end, loaded as bench/costs.py loads it (one campaign's
clicks over a day, six countries). Each round plans the same two updates (all the campaign's
clicks, and only its Italian ones: a sixth) in chunks as `updateCosts` does, and, for
comparison, runs the one statement that planned an update before migration 0016 (every
matching click numbered at once; its statement timeout lifted here, or it fails past a few
million clicks on a busy server). Both kinds alternate, so a busy machine weighs on both
alike. Printed: wall time, the longest transaction (a chunk's, or the whole plan's), and CPU
per million clicks read, of the planning backend (the database is local; parallel plans are
switched off, so the backend does all of a statement's work) and of this process.
"""

import argparse
import asyncio
import os
import secrets
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
from sqlalchemy import make_url

from bench.costs import _backend_seconds, _load, _seed
from bench.machine import idle_share
from bench.rollups import DEFAULT_URL, _dsn
from models.cost_requests import PLAN_CLICKS, ClickScope, CostRequest, take_cost_update
from models.database import create_engine, display_url, driver_connection
from models.enums import CostUpdateMode
from models.migrate import upgrade
from models.settings import Settings

# The plan of an update as one statement, as models/cost_requests.py had it before 0016.
ONE_STATEMENT = """
    SELECT created_at, id, n FROM (
        SELECT created_at, id, row_number() OVER w AS n, lead(id) OVER w IS NULL AS last
        FROM clicks WHERE workspace_id = $1 AND {where}
        WINDOW w AS (ORDER BY created_at, id)
    ) AS numbered
    WHERE n % $2 = 0 OR last
    ORDER BY n
"""


async def _chunked(conn: asyncpg.Connection, request: CostRequest) -> tuple[float, float, int]:
    """Wall seconds, the longest chunk's seconds, clicks planned."""
    longest, last = 0.0, time.perf_counter()

    def chunk_done(update_id: int) -> None:
        nonlocal longest, last
        now = time.perf_counter()
        longest, last = max(longest, now - last), now

    started = time.perf_counter()
    update = await take_cost_update(conn, request, on_chunk=chunk_done)
    return time.perf_counter() - started, longest, update.planned_clicks


async def _one_statement(
    conn: asyncpg.Connection, request: CostRequest
) -> tuple[float, float, int]:
    where, values = request.scope.where(3)
    started = time.perf_counter()
    async with conn.transaction():
        await conn.execute("SET LOCAL statement_timeout = 0")
        rows = await conn.fetch(
            ONE_STATEMENT.format(where=where), request.workspace_id, 5_000, *values
        )
    elapsed = time.perf_counter() - started
    return elapsed, elapsed, rows[-1]["n"] if rows else 0


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clicks", type=int, default=3_000_000)
    parser.add_argument("--rounds", type=int, default=2)
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
            print(f"PostgreSQL {await admin.fetchval('SHOW server_version')} at {display_url(url)}")
            workspace_id, costed, _ = await _seed(scratch)
            day = datetime(2026, 11, 2, tzinfo=UTC)
            started = time.perf_counter()
            await _load(scratch, workspace_id, costed, args.clicks, day)
            print(f"{args.clicks:,} clicks loaded in {time.perf_counter() - started:.0f} s")
            scope = ClickScope(campaign_id=costed, starts_at=day, ends_at=day + timedelta(days=1))
            requests = {
                "all": scope,
                "IT only": ClickScope(
                    campaign_id=costed, starts_at=day, ends_at=day + timedelta(days=1), country="IT"
                ),
            }
            print(
                f"chunks of {PLAN_CLICKS:,} clicks; idle share of the cores now ~{idle_share():.0%}"
            )
            for round_ in range(1, args.rounds + 1):
                for label, narrowed in requests.items():
                    for kind, plan in (("chunked", _chunked), ("one statement", _one_statement)):
                        request = CostRequest(
                            workspace_id=workspace_id,
                            scope=narrowed,
                            mode=CostUpdateMode.PER_CLICK,
                            amount=Decimal("0.01"),
                        )
                        async with driver_connection(engine) as conn:
                            # Parallel workers' CPU would not count as the backend's.
                            await conn.execute("SET max_parallel_workers_per_gather = 0")
                            pid = conn.get_server_pid()
                            backend, own = _backend_seconds([pid]), time.process_time()
                            wall, longest, clicks = await plan(conn, request)
                            backend = _backend_seconds([pid]) - backend
                            own = time.process_time() - own
                            await conn.execute("RESET max_parallel_workers_per_gather")
                        # Per million of the campaign's clicks read.
                        per_million = 1e6 / args.clicks
                        print(
                            f"round {round_} {label:8} {kind:13} {clicks:>9,} clicks: "
                            f"{wall:5.1f} s, longest transaction {longest:5.2f} s; CPU per "
                            f"million: backend {backend * per_million:4.2f} s, "
                            f"bench {own * per_million:4.2f} s"
                        )
        finally:
            await engine.dispose()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
