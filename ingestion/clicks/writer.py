"""Group commit for clicks: many requests, one COPY and one COMMIT.

Requests append their click and (in durable mode) wait for the commit of the batch that
carried it. Two flushers take turns: while one batch commits, the next one fills, so batch size
follows the load and throughput is bounded by the database rather than by a round trip per click.
Committed batches then go to one task that flags repeat visitors (see mark_repeat_clicks).
"""

import asyncio
import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from ingestion.clicks.records import ClickRecord
from ingestion.clicks.repository import insert_clicks, mark_repeat_clicks
from models.database import DATABASE_ERRORS, driver_connection

logger = logging.getLogger(__name__)


class ClickNotRecordedError(Exception):
    """The batch carrying a click could not be committed; the request must not answer 302."""


MAX_BATCH = 5_000
FLUSHERS = 2
# Buffered mode retries a failed batch this many times before it gives the clicks up.
BUFFERED_ATTEMPTS = 5


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
        self._pending: list[tuple[ClickRecord, asyncio.Future[None] | None]] = []
        self._wake = asyncio.Event()
        self._flushers: list[asyncio.Task[None]] = []
        self._in_flight = 0
        self._committed: asyncio.Queue[list[ClickRecord]] = asyncio.Queue()
        self._marker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._flushers = [asyncio.create_task(self._run()) for _ in range(FLUSHERS)]
        self._marker = asyncio.create_task(self._mark_repeats())

    async def stop(self) -> None:
        """Flush what is pending and flag its repeats, then stop."""
        while self._pending or self._in_flight:
            self._wake.set()
            await asyncio.sleep(0.01)
        await self._committed.join()
        tasks = [*self._flushers, *([self._marker] if self._marker else [])]
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

    async def _flush(self, batch: list[tuple[ClickRecord, asyncio.Future[None] | None]]) -> None:
        clicks = [click for click, _ in batch]
        attempts = 1 if self._durable else BUFFERED_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                await self._insert(clicks)
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
        self._committed.put_nowait(clicks)

    def _fail(self, batch: list[tuple[ClickRecord, asyncio.Future[None] | None]]) -> None:
        logger.exception("could not write %d clicks", len(batch))
        for _, future in batch:
            if future is not None and not future.done():
                future.set_exception(ClickNotRecordedError("the click could not be committed"))

    async def _insert(self, clicks: list[ClickRecord]) -> None:
        async with driver_connection(self._engine) as conn:
            await insert_clicks(conn, clicks)

    async def _mark_repeats(self) -> None:
        """One task, so the batches of this process never wait on each other's visitor rows."""
        while True:
            clicks = await self._committed.get()
            # Take whatever else has been committed meanwhile: one pass for all of it.
            while not self._committed.empty() and len(clicks) < MAX_BATCH:
                clicks += self._committed.get_nowait()
                self._committed.task_done()
            try:
                async with driver_connection(self._engine) as conn:
                    await mark_repeat_clicks(conn, clicks, unique_window=self.unique_window)
            except Exception:
                # The clicks are stored; only their uniqueness flag stays optimistic.
                logger.exception("could not flag repeat visitors among %d clicks", len(clicks))
            finally:
                self._committed.task_done()
