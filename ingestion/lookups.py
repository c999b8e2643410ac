"""Short-lived per-process caches of configuration lookups, with one lookup in flight per key.

Without the single flight, every request in flight misses together when an entry expires and
each one queries the database: a burst of identical queries every few seconds under load.
"""

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from cachetools import TTLCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LookupCache(Generic[K, V]):
    def __init__(self, load: Callable[[K], Awaitable[V]], *, ttl_s: float, size: int) -> None:
        self._load = load
        self._entries: TTLCache[K, asyncio.Task[V]] = TTLCache(maxsize=size, ttl=ttl_s)

    async def get(self, key: K) -> V:
        task = self._entries.get(key)
        if task is not None and task.done() and not task.cancelled() and task.exception() is None:
            # The usual case, answered without the shield's extra future.
            return task.result()
        if task is None:
            task = asyncio.ensure_future(self._load(key))
            self._entries[key] = task
        try:
            # Shielded: one waiter giving up must not cancel the lookup the others await.
            return await asyncio.shield(task)
        except Exception:
            # A failed lookup is not cached; the next request tries again.
            if self._entries.get(key) is task:
                del self._entries[key]
            raise

    def clear(self) -> None:
        self._entries.clear()
