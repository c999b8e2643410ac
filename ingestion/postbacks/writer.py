"""The postback writer: hits applied in groups, one transaction and one COMMIT per group.

A hit's answer waits for the commit of its group, so a 2xx still means the event and its log
row are committed. When a group fails (a deadlock with another process, a lost connection), its
hits are applied again one by one, so one bad hit cannot fail the others.
"""

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from ingestion.group_commit import GroupCommit, NotCommittedError
from ingestion.postbacks.records import Outcome
from ingestion.postbacks.service import Prepared, apply
from models.database import DATABASE_ERRORS, driver_connection

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

    def start(self) -> None:
        self._batches.start()

    async def stop(self) -> None:
        await self._batches.stop()

    async def record(self, prepared: Prepared) -> Outcome:
        """Apply and log a hit; return its outcome once committed."""
        return await self._batches.submit(prepared)

    async def _commit(self, batch: list[Prepared]) -> list[Outcome | Exception]:
        try:
            return list(await self._apply(batch))
        except DATABASE_ERRORS:
            if len(batch) == 1:
                raise
            logger.warning("a group of %d postbacks failed; applying them one by one", len(batch))
        results: list[Outcome | Exception] = []
        for prepared in batch:
            try:
                results.extend(await self._apply([prepared]))
            except DATABASE_ERRORS:
                logger.exception("postback not recorded")
                results.append(NotCommittedError("the postback could not be committed"))
        return results

    async def _apply(self, batch: list[Prepared]) -> list[Outcome]:
        async with driver_connection(self._engine) as conn, conn.transaction():
            return await apply(conn, batch)
