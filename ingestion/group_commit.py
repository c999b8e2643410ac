"""Group commit: many requests, one transaction.

Requests queue an item and (when they must know it is committed) await its result. One flusher
per process commits what is queued; while a batch commits, the next one fills, so batch size
follows the load and throughput is bounded by the database rather than by a round trip per
request. (Two flushers taking turns measured ~10% slower: they split the load into smaller
batches, and a batch's cost in the database is mostly per statement, not per row.)
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from models.failure_log import FailureLog
from models.metrics import GROUP_COMMIT_BATCH, GROUP_COMMIT_WAIT_SECONDS, QUEUE_DEPTH

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class NotCommittedError(Exception):
    """The batch carrying an item could not be committed; its request must not answer 2xx."""


# What a commit returns per item, in order: its result, or the error that item alone met.
Commit = Callable[[list[T]], Awaitable[Sequence[R | Exception]]]


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        commit: Commit[T, R],
        *,
        what: str,
        max_batch: int,
        linger_s: float = 0.0,
        attempts: int = 1,
    ) -> None:
        """`linger_s` gathers a batch for that long first; `attempts` retries a failed batch."""
        self._commit = commit
        self._what = what
        self._max_batch = max_batch
        self._linger_s = linger_s
        self._attempts = attempts
        self._pending: list[tuple[T, asyncio.Future[R] | None]] = []
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._in_flight = 0
        self._failures = FailureLog(logger, f"commit {what}")
        # When the oldest item now pending was queued (perf_counter): read once per batch,
        # where a time per item would cost every request.
        self._oldest_queued = 0.0
        self._batch_sizes = GROUP_COMMIT_BATCH.labels(what)
        self._waits = GROUP_COMMIT_WAIT_SECONDS.labels(what)
        self._depth = QUEUE_DEPTH.labels(what)

    @property
    def backlog(self) -> int:
        """Items queued and not yet taken into a batch."""
        return len(self._pending)

    def start(self) -> None:
        self._flusher = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Commit what is pending, then stop."""
        while self._pending or self._in_flight:
            self._wake.set()
            await asyncio.sleep(0.01)
        if self._flusher:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)

    async def submit(self, item: T) -> R:
        """Queue an item and return its result once its batch is committed."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        if not self._pending:
            self._oldest_queued = time.perf_counter()
        self._pending.append((item, future))
        self._wake.set()
        return await future

    def put(self, item: T) -> None:
        """Queue an item without waiting: a crash before its batch commits loses it."""
        if not self._pending:
            self._oldest_queued = time.perf_counter()
        self._pending.append((item, None))
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if self._linger_s:
                await asyncio.sleep(self._linger_s)
            batch = self._pending[: self._max_batch]
            self._pending = self._pending[self._max_batch :]
            queued_at = self._oldest_queued
            if not self._pending:
                self._wake.clear()
            else:
                # Left behind by a full batch: they wait from now on (an underestimate).
                self._oldest_queued = time.perf_counter()
            if not batch:
                continue
            self._depth.set(len(self._pending))
            self._batch_sizes.observe(len(batch))
            self._in_flight += 1
            try:
                await self._flush(batch)
            finally:
                self._in_flight -= 1
                self._waits.observe(time.perf_counter() - queued_at)

    async def _flush(self, batch: list[tuple[T, asyncio.Future[R] | None]]) -> None:
        items = [item for item, _ in batch]
        for attempt in range(1, self._attempts + 1):
            try:
                results = await self._commit(items)
            except Exception as exc:
                # The flusher must never die, least of all with requests waiting on it.
                if attempt < self._attempts:
                    await asyncio.sleep(0.1 * 2**attempt)
                    continue
                self._failures.failed(exc)
                error = NotCommittedError(f"the {self._what} could not be committed")
                # Its requests answer by the cause: an outage is retried, a refusal is not.
                error.__cause__ = exc
                results = [error] * len(items)
            else:
                self._failures.recovered()
                break
        for (item, future), result in zip(batch, results, strict=True):
            if future is None and isinstance(result, Exception):
                logger.error("%s lost: %r (%s)", self._what, item, result)
            if future is None or future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
