"""Background upkeep that a server repeats while it runs (partitions, pruning)."""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress

from models.database import DATABASE_ERRORS

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


async def run_logged(job: Job, *, what: str) -> None:
    """Run the job; a database failure is logged, the next period retries."""
    try:
        await job()
    except DATABASE_ERRORS:
        logger.exception("could not %s", what)


@asynccontextmanager
async def periodically(
    job: Job, *, what: str, every_s: float, first_after_s: float = 0.0
) -> AsyncIterator[None]:
    """Repeat the job every ``every_s`` seconds for as long as the context is open."""

    async def repeat() -> None:
        await asyncio.sleep(first_after_s)
        while True:
            await run_logged(job, what=what)
            await asyncio.sleep(every_s)

    task = asyncio.create_task(repeat())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
