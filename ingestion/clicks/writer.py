"""Group commit for clicks: many requests, one COPY and one COMMIT.

Requests append their click and (in durable mode) wait for the commit of the batch that
carried it. Two flushers take turns: while one batch commits, the next one fills, so batch size
follows the load and throughput is bounded by the database rather than by a round trip per click.

Uniqueness is decided before the COPY from what this process saw recently and, for visitors it
has not seen, one lock-free read of the fingerprints. One task per process records the batch's
visitors afterwards, so no redirect ever waits on a visitor row that a busy proxy keeps hot.
"""

import asyncio
import logging
from datetime import datetime, timedelta

from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncEngine

from ingestion.clicks.records import ClickRecord
from ingestion.clicks.repository import VisitorKey, insert_clicks, last_seen, remember_visitors
from models.database import DATABASE_ERRORS, driver_connection

logger = logging.getLogger(__name__)


class ClickNotRecordedError(Exception):
    """The batch carrying a click could not be committed; the request must not answer 302."""


MAX_BATCH = 5_000
FLUSHERS = 2
# Buffered mode retries a failed batch this many times before it gives the clicks up.
BUFFERED_ATTEMPTS = 5
# Visitors this process remembers without asking the database.
RECENT_VISITORS = 200_000

Pending = tuple[ClickRecord, asyncio.Future[None] | None]


class ClickWriter:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        durable: bool,
        unique_window: timedelta,
        flush_interval_s: float,
    ) -> None:
        self._engine = engine
        self._durable = durable
        self.unique_window = unique_window
        self._flush_interval_s = flush_interval_s
        self._pending: list[Pending] = []
        self._wake = asyncio.Event()
        self._flushers: list[asyncio.Task[None]] = []
        self._in_flight = 0
        self._recent: TTLCache[VisitorKey, datetime] = TTLCache(
            maxsize=RECENT_VISITORS, ttl=unique_window.total_seconds()
        )
        self._seen: asyncio.Queue[dict[VisitorKey, datetime]] = asyncio.Queue()
        self._recorder: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._flushers = [asyncio.create_task(self._run()) for _ in range(FLUSHERS)]
        self._recorder = asyncio.create_task(self._record_visitors())

    async def stop(self) -> None:
        """Flush what is pending and record its visitors, then stop."""
        while self._pending or self._in_flight:
            self._wake.set()
            await asyncio.sleep(0.01)
        await self._seen.join()
        tasks = [*self._flushers, *([self._recorder] if self._recorder else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def write(self, click: ClickRecord) -> None:
        """Queue a click; in durable mode return only once it is committed."""
        future = asyncio.get_running_loop().create_future() if self._durable else None
        self._pending.append((click, future))
        self._wake.set()
        if future is not None:
            await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if not self._durable:
                # Buffered: gather a batch over the interval; this is the window a crash can lose.
                await asyncio.sleep(self._flush_interval_s)
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            if not self._pending:
                self._wake.clear()
            if not batch:
                continue
            self._in_flight += 1
            try:
                await self._flush(batch)
            finally:
                self._in_flight -= 1

    async def _flush(self, batch: list[Pending]) -> None:
        clicks = [click for click, _ in batch]
        attempts = 1 if self._durable else BUFFERED_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                latest = await self._insert(clicks)
            except DATABASE_ERRORS:
                if attempt < attempts:
                    await asyncio.sleep(0.1 * 2**attempt)
                    continue
                self._fail(batch)
                return
            except Exception:
                # A flusher must never die, least of all with requests waiting on it.
                self._fail(batch)
                return
            break
        for _, future in batch:
            if future is not None and not future.done():
                future.set_result(None)
        self._recent.update(latest)
        self._seen.put_nowait(latest)

    def _fail(self, batch: list[Pending]) -> None:
        logger.exception("could not write %d clicks", len(batch))
        for _, future in batch:
            if future is not None and not future.done():
                future.set_exception(ClickNotRecordedError("the click could not be committed"))

    async def _insert(self, clicks: list[ClickRecord]) -> dict[VisitorKey, datetime]:
        """COPY the clicks with their uniqueness; return each visitor's latest click."""
        async with driver_connection(self._engine) as conn:
            keys = {(c.workspace_id, c.campaign_id, c.fingerprint) for c in clicks}
            unknown = [key for key in keys if key not in self._recent]
            latest = dict(await last_seen(conn, unknown)) if unknown else {}
            latest.update((key, self._recent[key]) for key in keys if key in self._recent)
            rows = []
            for click in sorted(clicks, key=lambda c: c.created_at):
                key = (click.workspace_id, click.campaign_id, click.fingerprint)
                previous = latest.get(key)
                rows.append(
                    (click, previous is None or click.created_at - previous >= self.unique_window)
                )
                latest[key] = click.created_at
            await insert_clicks(conn, rows)
        return {key: latest[key] for key in keys}

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
            except Exception:
                # Only other processes' view of these visitors' uniqueness is affected.
                logger.exception("could not record %d visitors", len(latest))
            finally:
                self._seen.task_done()
