"""Background upkeep that a server repeats while it runs (partitions, pruning)."""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress

from models.database import DATABASE_ERRORS
from models.failure_log import FailureLog

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


async def _run_logged(job: Job, failures: FailureLog) -> None:
    """Run the job; a database failure is logged, the next period retries."""
    try:
        await job()
    except DATABASE_ERRORS as error:
        failures.failed(error)
    else:
        failures.recovered()


@asynccontextmanager
async def periodically(
    job: Job,
    *,
    what: str,
    every_s: float,
    first_after_s: float = 0.0,
    run_first: bool = False,
) -> AsyncIterator[None]:
    """Repeat the job every ``every_s`` seconds for as long as the context is open; with
    ``run_first``, run it once before the context opens as well.

    While the database is down, the job's failures are logged once with their traceback,
    then every few seconds as one line, then once more when it runs again.
    """
    failures = FailureLog(logger, what)
    if run_first:
        await _run_logged(job, failures)

    async def repeat() -> None:
        await asyncio.sleep(first_after_s)
        while True:
            await _run_logged(job, failures)
            await asyncio.sleep(every_s)

    task = asyncio.create_task(repeat())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
