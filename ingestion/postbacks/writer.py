"""The postback writer: hits applied in groups, one transaction and one COMMIT per group.

A hit's answer waits for the commit of its group, so a 2xx still means the event and its log
row are committed. When a group fails (a deadlock with another process, a lost connection), its
hits are applied again one by one, so one bad hit cannot fail the others.
"""

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from ingestion.group_commit import GroupCommit, NotCommittedError
from ingestion.postbacks.records import Outcome
from ingestion.postbacks.repository import announcing_transaction
from ingestion.postbacks.service import Prepared, apply
from models.database import DATABASE_ERRORS, driver_connection
from models.failure_log import FailureLog

logger = logging.getLogger(__name__)

# A group's statements carry one array element per hit; beyond a few hundred, a bigger group
# only makes its hits wait longer.
MAX_BATCH = 500


class PostbackWriter:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._batches = GroupCommit[Prepared, Outcome](
            self._commit, what="postbacks", max_batch=MAX_BATCH
        )
        self._group_failures = FailureLog(
            logger, "commit a group of postbacks at once (applying its hits one by one)"
        )
        self._hit_failures = FailureLog(logger, "record postbacks")

    def start(self) -> None:
        self._batches.start()

    async def stop(self) -> None:
        await self._batches.stop()

    async def record(self, prepared: Prepared) -> Outcome:
        """Apply and log a hit; return its outcome once committed."""
        return await self._batches.submit(prepared)

    async def _commit(self, batch: list[Prepared]) -> list[Outcome | Exception]:
        if len(batch) > 1:
            try:
                outcomes = await self._apply(batch)
            except DATABASE_ERRORS as error:
                self._group_failures.failed(error)
            else:
                self._group_failures.recovered()
                return list(outcomes)
        return [await self._apply_one(prepared) for prepared in batch]

    async def _apply_one(self, prepared: Prepared) -> Outcome | Exception:
        try:
            [outcome] = await self._apply([prepared])
        except DATABASE_ERRORS as error:
            self._hit_failures.failed(error)
            not_committed = NotCommittedError("the postback could not be committed")
            not_committed.__cause__ = error
            return not_committed
        self._hit_failures.recovered()
        return outcome

    async def _apply(self, batch: list[Prepared]) -> list[Outcome]:
        async with (
            driver_connection(self._engine) as conn,
            announcing_transaction(conn) as announced,
        ):
            outcomes = await apply(conn, batch)
            announced.extend(outcomes)
        return outcomes
