"""Short-lived per-process caches of configuration lookups, with one lookup in flight per key.

Without the single flight, every request in flight misses together when an entry expires and
each one queries the database: a burst of identical queries every few seconds under load.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from cachetools import TTLCache

from models.database import DATABASE_ERRORS
from models.failure_log import FailureLog

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LookupCache(Generic[K, V]):
    def __init__(
        self, load: Callable[[K], Awaitable[V]], *, what: str, ttl_s: float, size: int
    ) -> None:
        """`what` names the lookup for the log ("look up campaigns")."""
        self._load = load
        self._entries: TTLCache[K, asyncio.Task[V]] = TTLCache(maxsize=size, ttl=ttl_s)
        self._failures = FailureLog(logger, what)

    async def get(self, key: K) -> V:
        task = self._entries.get(key)
        if task is not None and task.done() and not task.cancelled() and task.exception() is None:
            # The usual case, answered without the shield's extra future.
            return task.result()
        if task is None:
            task = asyncio.ensure_future(self._logged_load(key))
            self._entries[key] = task
        try:
            # Shielded: one waiter giving up must not cancel the lookup the others await.
            return await asyncio.shield(task)
        except Exception:
            # A failed lookup is not cached; the next request tries again.
            if self._entries.get(key) is task:
                del self._entries[key]
            raise

    async def _logged_load(self, key: K) -> V:
        """The lookup, its failure logged here once for all the requests that waited on it
        (they answer 503 without logging)."""
        try:
            value = await self._load(key)
        except DATABASE_ERRORS as error:
            self._failures.failed(error)
            raise
        self._failures.recovered()
        return value

    def clear(self) -> None:
        self._entries.clear()
