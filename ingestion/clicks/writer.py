"""The click writer: clicks committed in groups, with their uniqueness decided per batch.

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
from ingestion.group_commit import GroupCommit
from models.database import driver_connection

logger = logging.getLogger(__name__)

MAX_BATCH = 5_000
# Buffered mode retries a failed batch this many times before it gives the clicks up.
BUFFERED_ATTEMPTS = 5
# Visitors this process remembers without asking the database.
RECENT_VISITORS = 200_000


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
        # Buffered mode gathers a batch over the interval: the window a crash can lose.
        self._batches = GroupCommit[ClickRecord, None](
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

    async def write(self, click: ClickRecord) -> None:
        """Queue a click; in durable mode return only once it is committed."""
        if self._durable:
            await self._batches.submit(click)
        else:
            self._batches.put(click)

    async def _commit(self, clicks: list[ClickRecord]) -> list[None]:
        latest = await self._insert(clicks)
        self._recent.update(latest)
        self._seen.put_nowait(latest)
        return [None] * len(clicks)

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
