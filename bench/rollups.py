"""What keeping the rollups costs writers: rows/s with and without their rollup changes.

    .venv/bin/python bench/rollups.py [--seconds 3]

Against DATABASE_URL (default: the PostgreSQL on 127.0.0.1:5432), in a scratch database built
by the migrations and dropped at the end. Each figure writes for about ``--seconds`` with the
rollup changes (models.rollups: summed per signature in Python, the workspace's lock shared,
one write into the pending table, in the rows' transaction) and as long without them, in
alternating thirds of which the best counts. One transaction per write, as ingestion does:
clicks COPYed in 50-row batches and in 1,000-row batches (without changes, a COPY that commits
on its own; with them, the click writer's three round trips), then conversion events inserted
one per transaction (a postback alone; the service groups them).
"""

import argparse
import asyncio
import os
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial

import asyncpg
from sqlalchemy import make_url

from models.click import CLICK_COLUMNS
from models.click_ids import new_click_id
from models.database import create_engine, display_url
from models.enums import ConversionStatus
from models.migrate import upgrade
from models.rollups import DIMENSIONS, ClickChanges, EventChanges, begin_shared, lock_shared
from models.settings import Settings

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
COUNTRIES = ("DE", "FR", "US", "GB", "IT", None)
DEVICES = ("mobile", "desktop", "tablet", None)
ROUNDS = 3


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


class Scene:
    """A seeded workspace: campaigns, offers and sources to spread clicks over."""

    def __init__(
        self, workspace_id: int, campaigns: list[tuple[int, int, int]], type_id: int
    ) -> None:
        self.workspace_id = workspace_id
        self.campaigns = campaigns
        self.type_id = type_id
        self.rng = random.Random(1)

    def clicks(self, count: int) -> list[tuple[object, ...]]:
        rows = []
        for _ in range(count):
            click_id, created_at = new_click_id(datetime.now(UTC))
            campaign_id, offer_id, source_id = self.rng.choice(self.campaigns)
            values: dict[str, object] = {
                "workspace_id": self.workspace_id,
                "created_at": created_at,
                "id": click_id,
                "campaign_id": campaign_id,
                "offer_id": offer_id,
                "traffic_source_id": source_id,
                "device_type": self.rng.choice(DEVICES),
                "is_bot": self.rng.random() < 0.05,
                "is_unique": self.rng.random() < 0.8,
                "country": self.rng.choice(COUNTRIES),
                "cost": Decimal("0.05"),
                "params": "{}",
            }
            rows.append(tuple(values.get(column) for column in CLICK_COLUMNS))
        return rows


async def _seed(conn: asyncpg.Connection) -> Scene:
    workspace_id = await conn.fetchval(
        "INSERT INTO workspaces (name, currency) VALUES ('bench', 'USD') RETURNING id"
    )
    campaigns = []
    for i in range(5):
        source_id = await conn.fetchval(
            "INSERT INTO traffic_sources (workspace_id, name) VALUES ($1, $2) RETURNING id",
            workspace_id,
            f"source {i}",
        )
        offer_id = await conn.fetchval(
            "INSERT INTO offers (workspace_id, name, url) VALUES ($1, $2, 'https://o.example/') "
            "RETURNING id",
            workspace_id,
            f"offer {i}",
        )
        # The key's directory row first: campaigns refer to it.
        await conn.execute(
            "INSERT INTO campaign_keys (key, workspace_id) VALUES ($1, $2)", f"c{i}", workspace_id
        )
        campaign_id = await conn.fetchval(
            "INSERT INTO campaigns (workspace_id, key, name, traffic_source_id) "
            "VALUES ($1, $2, $2, $3) RETURNING id",
            workspace_id,
            f"c{i}",
            source_id,
        )
        campaigns.append((campaign_id, offer_id, source_id))
    type_id = await conn.fetchval(
        "INSERT INTO conversion_types (workspace_id, name, counts_as_conversion, "
        "counts_in_revenue, duplicate_policy) VALUES ($1, 'bench', true, true, 'new_per_txid') "
        "RETURNING id",
        workspace_id,
    )
    return Scene(workspace_id, campaigns, type_id)


async def _rate(seconds: float, write: Callable[[], Awaitable[int]]) -> float:
    rows = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        rows += await write()
    return rows / elapsed


async def measure(conn: asyncpg.Connection, scene: Scene, seconds: float) -> None:
    # Events need clicks to belong to; made once, before any figure.
    targets = scene.clicks(20_000)
    await conn.copy_records_to_table("clicks", records=targets, columns=CLICK_COLUMNS)
    counter = iter(range(10**9))
    position = {column: i for i, column in enumerate(CLICK_COLUMNS)}
    dimensions = [position[d] for d in DIMENSIONS]

    def copy(size: int, *, changes: bool) -> Callable[[], Awaitable[int]]:
        async def write() -> int:
            rows = scene.clicks(size)
            if not changes:
                await conn.copy_records_to_table("clicks", records=rows, columns=CLICK_COLUMNS)
                return size
            # As the click writer does it: BEGIN with the lock, the COPY, the changes + COMMIT.
            sums = ClickChanges()
            for row in rows:
                sums.add(
                    scene.workspace_id,
                    row[position["created_at"]],  # type: ignore[arg-type]
                    tuple(row[i] for i in dimensions),
                    unique=bool(row[position["is_unique"]]),
                    bot=bool(row[position["is_bot"]]),
                    cost=row[position["cost"]],  # type: ignore[arg-type]
                )
            await conn.execute(begin_shared(sums.workspaces()))
            await conn.copy_records_to_table("clicks", records=rows, columns=CLICK_COLUMNS)
            await conn.execute(f"{sums.insert_sql()};COMMIT")
            return size

        return write

    def postback(*, changes: bool) -> Callable[[], Awaitable[int]]:
        async def write() -> int:
            target = scene.rng.choice(targets)
            async with conn.transaction():
                created_at = await conn.fetchval(
                    "INSERT INTO conversion_events (workspace_id, click_created_at, click_id, "
                    "type_id, txid, dedup_txid, amount) VALUES ($1, $2, $3, $4, $5, $5, 12.5) "
                    "RETURNING created_at",
                    scene.workspace_id,
                    target[position["created_at"]],
                    target[position["id"]],
                    scene.type_id,
                    f"t{next(counter)}",
                )
                if changes:
                    sums = EventChanges()
                    sums.add(
                        1,
                        workspace_id=scene.workspace_id,
                        click_created_at=target[position["created_at"]],  # type: ignore[arg-type]
                        created_at=created_at,
                        dimensions=tuple(target[i] for i in dimensions),
                        type_id=scene.type_id,
                        status=ConversionStatus.APPROVED,
                        amount=Decimal("12.5"),
                        cost=Decimal(0),
                    )
                    await lock_shared(conn, sums.workspaces())
                    await sums.write(conn)
            return 1

        return write

    print(f"{'rows/s':46} {'without':>9} {'with':>9} {'cost':>6}")
    for name, write in (
        ("clicks, COPY of 50 rows per transaction", partial(copy, 50)),
        ("clicks, COPY of 1,000 rows per transaction", partial(copy, 1000)),
        ("conversion events, one INSERT per transaction", postback),
    ):
        # Alternating short runs, best of each: other load on the machine comes and goes.
        rates: dict[bool, float] = {False: 0.0, True: 0.0}
        for _ in range(ROUNDS):
            for changes in (False, True):
                run = write(changes=changes)
                rates[changes] = max(rates[changes], await _rate(seconds / ROUNDS, run))
        without, with_changes = rates[False], rates[True]
        cost = 1 - with_changes / without
        print(f"{name:46} {without:9,.0f} {with_changes:9,.0f} {cost:6.0%}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0, help="per figure (default 3)")
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
        conn = await asyncpg.connect(_dsn(url, name))
        try:
            version = await conn.fetchval("SHOW server_version")
            print(f"PostgreSQL {version} at {display_url(url)}, {args.seconds:g} s per figure")
            await measure(conn, await _seed(conn), args.seconds)
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
