"""What a running ingestion service does to the monthly partitions every few hours: it creates
the coming months' and, with ``CLICKTRAIL_RAW_RETENTION_DAYS`` set, drops the expired ones.

Dropping needs no fold of the pending rollup changes first: those carry their own dimensions
and sums, never a reference to a raw row, and reports over rollups read them beside the rollups.
"""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import partial

from asyncpg.exceptions import LockNotAvailableError
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from models.metrics import PARTITIONS_DROPPED
from models.partitions import (
    PARTITION_NAME,
    drop_partitions,
    lock_partitions,
    prepare_partitions,
)
from models.periodic import periodically
from models.settings import Settings

logger = logging.getLogger(__name__)

# Detaching and dropping a partition locks its parent table alone, and every click and postback
# written meanwhile queues behind that lock: past this wait (a long report holding the table),
# give up and try again at the next period rather than stall the redirects.
DROP_LOCK_TIMEOUT_MS = 2_000


def partition_upkeep(
    interval_s: float = 6 * 3600,
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """A lifespan hook that keeps partitions ahead while a server runs for months on end."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        job = partial(_upkeep, app.state.engine, app.state.settings)
        # Once before serving, so a write never meets a missing partition; then periodically.
        # A failure is retried at the next period: months of slack remain before one is due.
        async with periodically(
            job,
            what="partition upkeep",
            every_s=interval_s,
            first_after_s=interval_s,
            run_first=True,
        ):
            yield

    return lifespan


async def _upkeep(engine: AsyncEngine, settings: Settings) -> None:
    created = await prepare_partitions(engine, months_ahead=settings.partitions_ahead_months)
    if created:
        logger.info("created partitions %s", ", ".join(created))
    if settings.raw_retention_days is not None:
        await drop_expired(engine, retention_days=settings.raw_retention_days)


async def drop_expired(
    engine: AsyncEngine,
    *,
    retention_days: int,
    now: datetime | None = None,
    lock_timeout_ms: int = DROP_LOCK_TIMEOUT_MS,
) -> list[str]:
    """Drop the monthly partitions of raw rows that end ``retention_days`` or more before now.

    Workers running this at once take turns (the partitions' advisory lock, waited for without
    a timeout: the holder's own waits are bounded); the later ones find nothing left to drop.
    """
    before = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    try:
        async with engine.begin() as conn:
            await lock_partitions(conn)
            await conn.execute(text(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}"))
            dropped = await drop_partitions(conn, before=before)
    except DBAPIError as error:
        if not isinstance(error.orig and error.orig.__cause__, LockNotAvailableError):
            raise
        logger.warning(
            "retention: expired partitions not dropped, their tables stayed busy for %s ms; "
            "the next upkeep tries again",
            lock_timeout_ms,
        )
        return []
    for name in dropped:
        match = PARTITION_NAME.match(name)
        assert match is not None
        PARTITIONS_DROPPED.labels(match["table"]).inc()
    if dropped:
        logger.info(
            "retention: dropped partitions %s (raw rows kept %s days)",
            ", ".join(dropped),
            retention_days,
        )
    return dropped
