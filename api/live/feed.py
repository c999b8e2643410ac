"""One LISTEN connection per API process, fanning ingestion's announcements out.

Ingestion NOTIFYs the keys of the events each postback group stored or changed, inside the
group's transaction (models.live), so an announcement arrives only after its COMMIT, from every
ingestion process. Here one connection LISTENs for the whole process; for each batch of
announcements the events of each workspace someone subscribes to are read once, then offered
to each of its subscribers.

A subscriber has a bounded queue. One that reads slower than events arrive loses the newest
ones and is told how many it missed; nothing it does reaches ingestion, which only NOTIFYs. A
lost LISTEN connection is reopened, and every subscriber is told that events may have been
missed meanwhile.
"""

import asyncio
import logging
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from functools import partial
from typing import Any

import asyncpg
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from api.conversions import repository
from api.errors import QueryInputError
from models import live
from models.database import DATABASE_ERRORS
from models.failure_log import FailureLog

logger = logging.getLogger(__name__)

# Announcements waiting to be read back; past this the process cannot keep up at all.
MAX_PENDING_NOTIFICATIONS = 10_000
# How long a new subscription waits for the LISTEN connection before it is refused.
LISTEN_WAIT_S = 5.0
RECONNECT_DELAYS_S = (0.5, 1.0, 2.0, 5.0)
# Names the LISTEN connection in pg_stat_activity.
LIVE_APPLICATION_NAME = "clicktrail-api-live"


@dataclass(frozen=True, slots=True)
class Change:
    """An event as read after its announcement: ``change`` is live.ADDED or live.UPDATED."""

    change: str
    row: Row[Any]


@dataclass(frozen=True, slots=True)
class Missed:
    """Events a subscriber did not get: ``count`` of them, or an unknown number (None)."""

    count: int | None


class Subscriber:
    def __init__(self, workspace_id: int, types: frozenset[str] | None, size: int) -> None:
        self.workspace_id = workspace_id
        self._types = types
        self._size = size
        self._queue: deque[Change] = deque()
        self._missed = 0
        self._lost = False
        self._ready = asyncio.Event()

    def offer(self, changes: Sequence[Change]) -> None:
        for change in changes:
            if self._types is not None and change.row.type_name not in self._types:
                continue
            if len(self._queue) < self._size:
                self._queue.append(change)
            else:
                self._missed += 1
        self._ready.set()

    def lost(self) -> None:
        """Announcements may have gone by unseen (a lost connection, an overflow)."""
        self._lost = True
        self._ready.set()

    async def next(self) -> Change | Missed:
        """The oldest event queued; once the queue is empty, what was missed since."""
        while True:
            if self._queue:
                return self._queue.popleft()
            if self._missed or self._lost:
                missed = Missed(None if self._lost else self._missed)
                self._missed, self._lost = 0, False
                return missed
            self._ready.clear()
            await self._ready.wait()


class LiveFeed:
    def __init__(self, dsn: str, *, queue_size: int, max_subscribers: int) -> None:
        self._dsn = dsn
        self._queue_size = queue_size
        self._max_subscribers = max_subscribers
        self._subscribers: dict[int, set[Subscriber]] = defaultdict(set)
        self._count = 0
        self._notifications: asyncio.Queue[str] = asyncio.Queue(MAX_PENDING_NOTIFICATIONS)
        self._listening = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._engine: AsyncEngine | None = None
        self._failures = FailureLog(logger, "listen for the live feed's announcements")

    @asynccontextmanager
    async def subscribe(
        self, engine: AsyncEngine, workspace_id: int, types: frozenset[str] | None
    ) -> AsyncIterator[Subscriber]:
        if self._count >= self._max_subscribers:
            raise QueryInputError(
                f"this API process serves {self._max_subscribers} live subscriptions already: "
                "retry later"
            )
        self._start(engine)
        try:
            await asyncio.wait_for(self._listening.wait(), LISTEN_WAIT_S)
        except TimeoutError:
            raise QueryInputError(
                "the live feed cannot reach the database: retry in a few seconds"
            ) from None
        subscriber = Subscriber(workspace_id, types, self._queue_size)
        self._subscribers[workspace_id].add(subscriber)
        self._count += 1
        try:
            yield subscriber
        finally:
            self._count -= 1
            subscribers = self._subscribers[workspace_id]
            subscribers.discard(subscriber)
            if not subscribers:
                del self._subscribers[workspace_id]

    @asynccontextmanager
    async def lifespan(self, app: object) -> AsyncIterator[None]:
        """A Litestar lifespan hook: the feed's connection and tasks end with the app."""
        try:
            yield
        finally:
            await self.stop()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def _start(self, engine: AsyncEngine) -> None:
        if not self._tasks:
            self._engine = engine
            self._tasks = [
                asyncio.create_task(self._listen(), name="live feed: listen"),
                asyncio.create_task(self._deliver(), name="live feed: deliver"),
            ]

    async def _listen(self) -> None:
        attempt = 0
        while True:
            lost = asyncio.Event()
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self._dsn,
                    timeout=LISTEN_WAIT_S,
                    server_settings={"application_name": LIVE_APPLICATION_NAME},
                )
                conn.add_termination_listener(partial(_set, lost))
                await conn.add_listener(live.CHANNEL, self._notified)
                self._listening.set()
                self._failures.recovered()
                attempt = 0
                await lost.wait()
            except (*DATABASE_ERRORS, OSError, TimeoutError) as error:
                self._failures.failed(error)
            finally:
                if conn is not None:
                    with suppress(Exception):
                        await asyncio.shield(conn.close(timeout=1))
            if self._listening.is_set():
                self._listening.clear()
                self._everyone_lost()
            await asyncio.sleep(RECONNECT_DELAYS_S[min(attempt, len(RECONNECT_DELAYS_S) - 1)])
            attempt += 1

    def _notified(self, conn: object, pid: int, channel: str, payload: object) -> None:
        try:
            self._notifications.put_nowait(str(payload))
        except asyncio.QueueFull:
            self._everyone_lost()

    def _everyone_lost(self) -> None:
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                subscriber.lost()

    async def _deliver(self) -> None:
        assert self._engine is not None
        while True:
            payloads = [await self._notifications.get()]
            while not self._notifications.empty():
                payloads.append(self._notifications.get_nowait())
            keys: dict[int, dict[tuple[Any, int], str]] = defaultdict(dict)
            for payload in payloads:
                for entry in live.announced(payload):
                    if entry.workspace_id in self._subscribers:
                        key = (entry.click_created_at, entry.event_id)
                        # An event added and updated in one batch is read once, as added.
                        keys[entry.workspace_id].setdefault(key, entry.change)
            for workspace_id, changes in keys.items():
                try:
                    rows = await repository.by_keys(
                        self._engine, workspace_id=workspace_id, keys=list(changes)
                    )
                except DATABASE_ERRORS as error:
                    logger.warning("live feed: cannot read announced events: %s", error)
                    for subscriber in self._subscribers.get(workspace_id, ()):
                        subscriber.lost()
                    continue
                read = [Change(changes[(r.click_created_at, r.id)], r) for r in rows]
                for subscriber in list(self._subscribers.get(workspace_id, ())):
                    subscriber.offer(read)


def _set(event: asyncio.Event, *_: object) -> None:
    event.set()
