"""Applying an upload's rows: each through the postback path, its outcome with its effect.

A chunk of rows is one transaction: the postback service applies them as it applies a group of
postbacks (the same checks, duplicate policies, status transitions, attribution window,
currency conversion, event cost, rollup changes written with the events, a postback log row per row,
kind `upload`, the live feed's announcement in the COMMIT), and the rows' outcomes and the job's
counters are written in that transaction too, with the job's mark of the last line applied. So
a row is applied exactly once: if the process dies mid-chunk, the chunk rolls back, mark
included; whoever resumes the job (a restarted worker, another process, the CLI run again)
starts after the mark.

One session works on a job at a time, holding an advisory lock for it; the server releases it
when the session ends, so a job whose worker died is free to be taken again at once.
"""

import logging
from collections.abc import Callable
from datetime import datetime

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from ingestion.postbacks.records import Hit, Outcome
from ingestion.postbacks.repository import announcing_transaction, workspace_rules
from ingestion.postbacks.service import Prepared, Refused, apply, prepare_known
from ingestion.uploads import repository
from ingestion.uploads.repository import PendingRow
from models.database import DATABASE_ERRORS, driver_connection
from models.enums import HitKind, HitOutcome
from models.failure_log import FailureLog

logger = logging.getLogger(__name__)

# Rows per transaction: what a group of postbacks may hold (ingestion.postbacks.writer).
CHUNK_ROWS = 500
# Jobs one pass of the worker looks at.
QUEUE_PAGE = 100

ChunkDone = Callable[[int], None]


async def process_job(
    engine: AsyncEngine,
    *,
    workspace_id: int,
    job_id: int,
    received_at: datetime,
    on_chunk: ChunkDone | None = None,
) -> bool:
    """Apply the job's rows that have no outcome yet; False if another session holds the job.

    ``received_at`` (when the file was taken) is every row's arrival time, so a resumed job
    applies its rows as the first attempt would have.
    """
    async with driver_connection(engine) as conn:
        if not await repository.try_lock(conn, job_id):
            return False
        try:
            while True:
                # Its events reach the live feed as a postback's do: announced by the COMMIT.
                async with announcing_transaction(conn) as announced:
                    after = await repository.lock_job(
                        conn, workspace_id=workspace_id, job_id=job_id
                    )
                    if after is None:
                        raise LookupError(f"upload job {job_id} does not exist")
                    rows = await repository.pending_rows(
                        conn,
                        workspace_id=workspace_id,
                        job_id=job_id,
                        after=after,
                        limit=CHUNK_ROWS,
                    )
                    if rows:
                        announced.extend(
                            await _apply_rows(conn, workspace_id, job_id, rows, received_at)
                        )
                    if len(rows) < CHUNK_ROWS:
                        await repository.finish(conn, workspace_id=workspace_id, job_id=job_id)
                if rows and on_chunk is not None:
                    on_chunk(len(rows))
                if len(rows) < CHUNK_ROWS:
                    return True
        finally:
            await repository.unlock(conn, job_id)


async def _apply_rows(
    conn: asyncpg.Connection,
    workspace_id: int,
    job_id: int,
    rows: list[PendingRow],
    received_at: datetime,
) -> list[Outcome]:
    # Read in the chunk's transaction: settings changed meanwhile apply from the next chunk.
    rules = await workspace_rules(conn, workspace_id)
    if rules is None:
        raise LookupError(f"workspace {workspace_id} of upload job {job_id} does not exist")
    prepared: list[Prepared] = []
    for row in rows:
        hit = Hit(
            kind=HitKind.UPLOAD,
            method="UPLOAD",
            secret="",
            query=row.query.encode(),
            body=row.raw.encode() if row.raw is not None else None,
            source_ip=None,
            received_at=received_at,
        )
        if row.refusal is None:
            prepared.append(prepare_known(rules, hit))
        else:
            refusal = Outcome(
                outcome=HitOutcome.REJECTED,
                reason=row.refusal,
                detail=row.refusal_detail or row.refusal,
                http_status=400,
                workspace_id=workspace_id,
            )
            prepared.append(Refused(hit, refusal))
    outcomes = await apply(conn, prepared)
    await repository.record_outcomes(
        conn, workspace_id=workspace_id, job_id=job_id, rows=rows, outcomes=outcomes
    )
    return outcomes


class UploadWorker:
    """Applies queued jobs in the background of an ingestion process: the ones uploaded
    through GraphQL, and any another process left unfinished."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._failures = FailureLog(logger, "apply uploaded conversions")

    async def run_queued(self) -> None:
        """Apply every queued job no other session holds; a job that fails is retried on the
        next pass, after the others."""
        async with driver_connection(self._engine) as conn:
            jobs = await repository.queued_jobs(conn, limit=QUEUE_PAGE)
        for job in jobs:
            try:
                await process_job(
                    self._engine,
                    workspace_id=job.workspace_id,
                    job_id=job.job_id,
                    received_at=job.created_at,
                )
            except (*DATABASE_ERRORS, LookupError) as error:
                self._failures.failed(error)
            else:
                self._failures.recovered()
