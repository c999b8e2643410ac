"""The click writer: clicks committed in groups, with their uniqueness decided per batch.

Uniqueness is decided before the COPY from what this process saw recently and, for visitors it
has not seen, one lock-free read of the fingerprints. One task per process records the batch's
visitors afterwards, so no redirect ever waits on a visitor row that a busy proxy keeps hot.

The clicks and their changes to the report rollups (models.rollups.ClickChanges, summed per
signature) are committed in one transaction: for a batch of a few clicks, one message and one
round trip (see ONE_MESSAGE_CLICKS).

A batch that fails on one row's data is written again unit by unit (a unit: one tracking-link
click, or one click-API request), so only that row's unit fails.
"""

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from operator import attrgetter

import asyncpg
from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncEngine

from ingestion.clicks.records import ClickRecord
from ingestion.clicks.repository import (
    VisitorKey,
    insert_clicks,
    insert_clicks_sql,
    last_seen,
    remember_visitors,
)
from ingestion.group_commit import GroupCommit, NotCommittedError
from models.database import driver_connection
from models.db_errors import constraint_of
from models.failure_log import FailureLog
from models.literals import NulInTextError
from models.rollups import DIMENSIONS, ClickChanges, begin_shared, lock_shared

logger = logging.getLogger(__name__)

MAX_BATCH = 5_000
# A batch of at most this many clicks is sent as one message: BEGIN with the rollup locks, the
# clicks and their rollup sums as multi-row INSERTs with the values written out, COMMIT; one
# round trip where the COPY path takes four (COPY alone takes two: the server answers the COPY
# before the rows go). Under a steady load of redirects a batch holds a few clicks, and there
# the round trips cost more than the rows. The server reads a written-out row in ~45 us where
# it COPYs one in ~35 (repository.insert_clicks_sql): by ~100 clicks the round trips saved are
# spent, so bigger batches (buffered mode, a burst) COPY.
ONE_MESSAGE_CLICKS = 32
# Buffered mode retries a failed batch this many times before it gives the clicks up.
BUFFERED_ATTEMPTS = 5
# Buffered mode's most uncommitted clicks per process: past it, redirects wait for their
# commit as in durable mode, so a database that falls behind slows redirects down instead of
# widening what a crash can lose.
MAX_BACKLOG = 10_000
# A click's values of the rollup dimensions, in models.rollups.DIMENSIONS order.
_dimensions = attrgetter(*DIMENSIONS)
# Visitors this process remembers without asking the database.
RECENT_VISITORS = 200_000
# Each visitor's latest click.
Latest = dict[VisitorKey, datetime]
# Clicks committed together or not at all.
Unit = tuple[ClickRecord, ...]
# What one row can cause (a value the column refuses, a constraint it breaks), unlike a lost
# connection: a batch failing so is written again unit by unit, so only that row's unit fails.
# On Citus a COPY row that a worker refuses arrives as XX000 (internal error), whatever the
# cause: it may be a row's fault too, so it takes the same path.
ROW_ERRORS = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.InternalServerError,
    UnicodeEncodeError,
    # Found before a batch written out as SQL is sent (a COPY meets it as a DataError).
    NulInTextError,
)


class ClickWriter:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        durable: bool,
        unique_window: timedelta,
        flush_interval_s: float,
        max_backlog: int = MAX_BACKLOG,
    ) -> None:
        self._engine = engine
        self._durable = durable
        self._max_backlog = max_backlog
        self.unique_window = unique_window
        # Buffered mode gathers a batch over the interval: the window a crash can lose.
        # Items are units: clicks committed together or not at all (one tracking-link click, or
        # one click-API request), so a client's retry never duplicates part of a request.
        self._batches = GroupCommit[Unit, None](
            self._commit,
            what="clicks",
            max_batch=MAX_BATCH,
            linger_s=0.0 if durable else flush_interval_s,
            attempts=1 if durable else BUFFERED_ATTEMPTS,
        )
        self._recent: TTLCache[VisitorKey, datetime] = TTLCache(
            maxsize=RECENT_VISITORS, ttl=unique_window.total_seconds()
        )
        self._seen: asyncio.Queue[dict[VisitorKey, datetime]] = asyncio.Queue()
        self._recorder: asyncio.Task[None] | None = None
        self._visitor_failures = FailureLog(logger, "record visitors")

    async def start(self) -> None:
        self._batches.start()
        self._recorder = asyncio.create_task(self._record_visitors())

    async def stop(self) -> None:
        """Flush what is pending and record its visitors, then stop."""
        await self._batches.stop()
        await self._seen.join()
        if self._recorder:
            self._recorder.cancel()
            await asyncio.gather(self._recorder, return_exceptions=True)

    async def write(self, *clicks: ClickRecord) -> None:
        """Queue clicks to be committed together or not at all; in durable mode (or over the
        backlog) return once they are committed."""
        if self._durable or self._batches.backlog >= self._max_backlog:
            await self._batches.submit(clicks)
        else:
            self._batches.put(clicks)

    async def _commit(self, units: list[Unit]) -> list[Exception | None]:
        failed: dict[int, Exception] = {}
        clicks = [click for unit in units for click in unit]
        async with driver_connection(self._engine) as conn:
            keys = {(c.workspace_id, c.campaign_id, c.fingerprint) for c in clicks}
            unknown = [key for key in keys if key not in self._recent]
            latest: Latest = dict(await last_seen(conn, unknown)) if unknown else {}
            latest.update((key, self._recent[key]) for key in keys if key in self._recent)
            in_order = sorted(clicks, key=lambda c: c.created_at)
            try:
                written = await self._write_batch(conn, in_order, latest)
                latest.update(written)
            except ROW_ERRORS as error:
                if not _one_rows_fault(error):
                    raise
                if len(units) == 1:
                    if isinstance(error, asyncpg.InternalServerError):
                        raise  # perhaps no row's fault: a retry of the batch may pass
                    logger.exception("clicks not recorded")
                    return [NotCommittedError("the clicks could not be committed")]
                logger.warning("a batch of %d units failed; writing them one by one", len(units))
                failed = await self._copy_each(conn, units, latest)
        seen = {key: latest[key] for key in keys if key in latest}
        self._recent.update(seen)
        self._seen.put_nowait(seen)
        return [failed.get(i) for i in range(len(units))]

    async def _write_batch(
        self, conn: asyncpg.Connection, clicks: list[ClickRecord], latest: Latest
    ) -> Latest:
        """The clicks (in time order) with their uniqueness and their rollup changes, in a
        transaction of their own that holds the rollup locks of their workspaces; return each
        visitor's latest click, for `latest` once committed.

        Up to ONE_MESSAGE_CLICKS, one message carries the whole transaction with the values
        written out (models.literals); bigger batches COPY their clicks (see ONE_MESSAGE_CLICKS).
        """
        written, rows, changes = self._rows(clicks, latest)
        begin = begin_shared({c.workspace_id for c in clicks})
        try:
            if len(rows) <= ONE_MESSAGE_CLICKS:
                statements = (begin, insert_clicks_sql(rows), changes.insert_sql(), "COMMIT")
                await conn.execute(";".join(filter(None, statements)))
            else:
                await conn.execute(begin)
                await insert_clicks(conn, rows)
                await conn.execute(f"{changes.insert_sql()};COMMIT")
        except BaseException:
            # Not left to the pool: SQLAlchemy's reset on return knows nothing of this BEGIN.
            with contextlib.suppress(Exception):
                await conn.execute("ROLLBACK")
            raise
        return written

    async def _copy(
        self, conn: asyncpg.Connection, clicks: list[ClickRecord], latest: Latest
    ) -> Latest:
        """COPY clicks (in time order) with their uniqueness, and their rollup changes, in the
        caller's transaction, which holds the rollup locks of their workspaces; return each
        visitor's latest click, for `latest` once committed."""
        written, rows, changes = self._rows(clicks, latest)
        await insert_clicks(conn, rows)
        await changes.write(conn)
        return written

    def _rows(
        self, clicks: list[ClickRecord], latest: Latest
    ) -> tuple[Latest, list[tuple[ClickRecord, bool]], ClickChanges]:
        """Each click (in time order) with its uniqueness, each visitor's latest click among
        them, and the clicks' rollup changes."""
        written: Latest = {}
        rows = []
        changes = ClickChanges()
        for click in clicks:
            key = (click.workspace_id, click.campaign_id, click.fingerprint)
            previous = written.get(key) or latest.get(key)
            unique = previous is None or click.created_at - previous >= self.unique_window
            rows.append((click, unique))
            written[key] = click.created_at
            changes.add(
                click.workspace_id,
                click.created_at,
                _dimensions(click),
                unique=unique,
                bot=click.is_bot,
                cost=click.cost,
            )
        return written, rows, changes

    async def _copy_each(
        self, conn: asyncpg.Connection, units: list[Unit], latest: Latest
    ) -> dict[int, Exception]:
        """COPY unit by unit, in time order; return the error of each unit that failed, by
        its position."""
        failed: dict[int, Exception] = {}
        errors: list[Exception] = []
        order = sorted(range(len(units)), key=lambda i: min(c.created_at for c in units[i]))
        # One transaction around the savepoints: if the connection fails midway, nothing is
        # committed and the batch can be retried whole without duplicates.
        async with conn.transaction():
            await lock_shared(conn, {c.workspace_id for unit in units for c in unit})
            for i in order:
                try:
                    async with conn.transaction():
                        in_order = sorted(units[i], key=lambda c: c.created_at)
                        written = await self._copy(conn, in_order, latest)
                    latest.update(written)
                except ROW_ERRORS as error:
                    if not _one_rows_fault(error):
                        raise
                    errors.append(error)
                    failed[i] = NotCommittedError("the clicks could not be committed")
            if errors and len(errors) == len(units):
                # No unit went in: the fault is the table's or the cluster's (a worker down),
                # not each row's. Raising commits nothing, so the batch may be retried whole.
                raise errors[0]
        for refused in errors:
            logger.error("clicks not recorded", exc_info=refused)
        return failed

    async def _record_visitors(self) -> None:
        """One task, so the batches of this process never wait on each other's visitor rows."""
        while True:
            latest = await self._seen.get()
            # Take whatever else has been committed meanwhile: one statement for all of it.
            while not self._seen.empty():
                for key, at in self._seen.get_nowait().items():
                    latest[key] = max(latest.get(key, at), at)
                self._seen.task_done()
            try:
                async with driver_connection(self._engine) as conn:
                    await remember_visitors(conn, latest)
            except Exception as error:
                # Only other processes' view of these visitors' uniqueness is affected.
                self._visitor_failures.failed(error)
            else:
                self._visitor_failures.recovered()
            finally:
                self._seen.task_done()


def _one_rows_fault(error: Exception) -> bool:
    """Whether a row error may be that row's own, not the table's: a click with no partition to
    go to (partition upkeep fell behind) is a CHECK violation naming no constraint, and every
    other click of the batch would fail the same way, one savepoint each."""
    return not (isinstance(error, asyncpg.CheckViolationError) and constraint_of(error) is None)
