"""Monthly partitions of the time-partitioned tables, created ahead of time.

Retention is a partition drop: conversion events are partitioned by their click's month, so
a month's clicks and events leave together.
"""

import re
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# Parent table -> partition key column.
PARTITIONED_TABLES = {
    "clicks": "created_at",
    "conversion_events": "click_created_at",
    "postback_log": "received_at",
}
PARTITION_NAME = re.compile(r"^(?P<table>\w+)_y(?P<year>\d{4})m(?P<month>\d{2})$")
# Serialises concurrent creators (several workers starting at once).
_LOCK_KEY = 0x636C6B74  # "clkt"


def month_start(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, 1, tzinfo=UTC)


def add_months(month: datetime, count: int) -> datetime:
    index = month.year * 12 + month.month - 1 + count
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(table: str, month: datetime) -> str:
    return f"{table}_y{month.year:04d}m{month.month:02d}"


def partition_month(name: str) -> datetime:
    """The first instant of the month a partition holds (its lower bound)."""
    match = PARTITION_NAME.match(name)
    assert match is not None, name
    return datetime(int(match["year"]), int(match["month"]), 1, tzinfo=UTC)


def is_partition(name: str) -> bool:
    match = PARTITION_NAME.match(name)
    return match is not None and match["table"] in PARTITIONED_TABLES


async def lock_partitions(conn: AsyncConnection) -> None:
    """Wait until no other transaction creates or drops partitions, then hold that until commit."""
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


async def ensure_partitions(
    conn: AsyncConnection, *, since: datetime, until: datetime
) -> list[str]:
    """Create the monthly partitions from ``since`` through ``until`` that are missing."""
    await lock_partitions(conn)
    existing = await existing_partitions(conn)
    created = []
    month = month_start(since)
    last = month_start(until)
    while month <= last:
        upper = add_months(month, 1)
        for table in PARTITIONED_TABLES:
            name = partition_name(table, month)
            if name in existing:
                continue
            # Names and bounds come from integers and fixed table names, never from input.
            await conn.execute(
                text(
                    f"CREATE TABLE {name} PARTITION OF {table} "
                    f"FOR VALUES FROM ('{month.isoformat()}') TO ('{upper.isoformat()}')"
                )
            )
            created.append(name)
        month = upper
    return created


async def drop_partitions(conn: AsyncConnection, *, before: datetime) -> list[str]:
    """Retention: drop every monthly partition that ends on or before ``before``'s month.

    Events go before clicks; a clicks partition is detached first because detaching is what
    removes the foreign keys conversion events hold on it (and checks none still point at it).
    """
    await lock_partitions(conn)
    cutoff = month_start(before)
    existing = await existing_partitions(conn)
    dropped = []
    for table in ("conversion_events", "postback_log", "clicks"):
        for name in sorted(existing):
            # Partitions not named by ensure_partitions (a default one an operator added) stay.
            match = PARTITION_NAME.match(name)
            if match is None or match["table"] != table or partition_month(name) >= cutoff:
                continue
            if table == "clicks":
                await conn.execute(text(f"ALTER TABLE clicks DETACH PARTITION {name}"))
            await conn.execute(text(f"DROP TABLE {name}"))
            dropped.append(name)
    return dropped


async def existing_partitions(conn: AsyncConnection) -> set[str]:
    result = await conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = ANY(:tables)"
        ),
        {"tables": list(PARTITIONED_TABLES)},
    )
    return set(result.scalars())


async def prepare_partitions(engine: AsyncEngine, *, months_ahead: int) -> list[str]:
    """Make sure this month and the next ``months_ahead`` months have their partitions."""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        return await ensure_partitions(conn, since=now, until=add_months(now, months_ahead))
