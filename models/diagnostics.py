"""Read-only figures `clicktrail doctor` judges an install by (see clicktrail/doctor.py)."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from models.partitions import (
    PARTITION_NAME,
    PARTITIONED_TABLES,
    add_months,
    existing_partitions,
    month_start,
    partition_month,
    partition_name,
)
from models.rollups import CLICKS_PENDING, EVENTS_PENDING


async def missing_partitions(conn: AsyncConnection, *, months_ahead: int) -> list[str]:
    """The partitions of this month and the next ``months_ahead`` that do not exist, in order."""
    existing = await existing_partitions(conn)
    this_month = month_start(datetime.now(UTC))
    return [
        name
        for count in range(months_ahead + 1)
        for table in PARTITIONED_TABLES
        if (name := partition_name(table, add_months(this_month, count))) not in existing
    ]


async def oldest_raw_month(conn: AsyncConnection) -> datetime | None:
    """The first month that still has raw clicks (and their events): none before it."""
    months = [
        partition_month(name)
        for name in await existing_partitions(conn)
        if (match := PARTITION_NAME.match(name)) and match["table"] == "clicks"
    ]
    return min(months, default=None)


async def longest_attribution_window(conn: AsyncConnection) -> int | None:
    """The most days any campaign accepts conversions after its click (none without campaigns)."""
    result = await conn.execute(text("SELECT max(attribution_window_days) FROM campaigns"))
    days = result.scalar_one()
    return None if days is None else int(days)


async def pending_rollup_rows(conn: AsyncConnection) -> int:
    """Rollup changes not yet folded into the rollups (ingestion folds them every 2 s)."""
    result = await conn.execute(
        text(
            f"SELECT (SELECT count(*) FROM {CLICKS_PENDING}) "  # noqa: S608 - constant names
            f"+ (SELECT count(*) FROM {EVENTS_PENDING})"
        )
    )
    return int(result.scalar_one())


@dataclass(frozen=True, slots=True)
class Outbox:
    # Forwards dead-lettered in all, and those among them created in the last day.
    dead: int
    dead_last_day: int
    # Pending forwards due for longer than a forwarder takes to claim them.
    overdue: int


async def outbox(conn: AsyncConnection, *, overdue_after_s: float) -> Outbox:
    """The forward outbox's backlog: what died, and what waits with no forwarder claiming it."""
    row = (
        await conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE state = 'dead'), "
                "count(*) FILTER (WHERE state = 'dead' AND created_at > now() - interval '1 day'), "
                "count(*) FILTER (WHERE state = 'pending' "
                "AND next_attempt_at < now() - make_interval(secs => :overdue)) "
                "FROM forwards WHERE state IN ('dead', 'pending')"
            ),
            {"overdue": overdue_after_s},
        )
    ).one()
    return Outbox(dead=int(row[0]), dead_last_day=int(row[1]), overdue=int(row[2]))


async def max_connections(conn: AsyncConnection) -> int:
    """The server's connection limit (on Citus, the coordinator's)."""
    result = await conn.execute(text("SELECT current_setting('max_connections')::int"))
    return int(result.scalar_one())
