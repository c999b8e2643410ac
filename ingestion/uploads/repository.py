"""SQL of applying uploads, on a raw asyncpg connection like the postback path it feeds."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from ingestion.postbacks.records import Outcome
from models.enums import HitOutcome

# The two-key advisory lock form: "upld" in ASCII, then the job id's hash. Held by a session
# for as long as it works on the job, so one process applies a job at a time; the server
# drops it when that session ends, however its process ends.
LOCK_CLASS = 0x75706C64


@dataclass(frozen=True, slots=True)
class PendingRow:
    line: int
    query: str
    raw: str | None
    refusal: str | None
    refusal_detail: str | None


@dataclass(frozen=True, slots=True)
class QueuedJob:
    workspace_id: int
    job_id: int
    created_at: datetime


async def queued_jobs(conn: asyncpg.Connection, *, limit: int) -> list[QueuedJob]:
    """Jobs with rows left, oldest first, whichever workspace they belong to.

    The queue is a reference table (one copy per node on Citus), so this reads no shard; each
    job's own rows are then read by workspace.
    """
    rows = await conn.fetch(
        "SELECT workspace_id, job_id FROM upload_queue ORDER BY job_id LIMIT $1", limit
    )
    jobs = []
    for row in rows:
        created_at = await conn.fetchval(
            "SELECT created_at FROM upload_jobs WHERE workspace_id = $1 AND id = $2",
            row["workspace_id"],
            row["job_id"],
        )
        if created_at is not None:
            jobs.append(QueuedJob(row["workspace_id"], row["job_id"], created_at))
    return jobs


async def try_lock(conn: asyncpg.Connection, job_id: int) -> bool:
    locked: bool = await conn.fetchval(
        "SELECT pg_try_advisory_lock($1, hashint8($2))", LOCK_CLASS, job_id
    )
    return locked


async def unlock(conn: asyncpg.Connection, job_id: int) -> None:
    await conn.fetchval("SELECT pg_advisory_unlock($1, hashint8($2))", LOCK_CLASS, job_id)


async def lock_job(conn: asyncpg.Connection, *, workspace_id: int, job_id: int) -> int | None:
    """The last line applied, with the job row locked until the transaction ends: a second
    session that got past the advisory lock would wait here, then read where this one ended."""
    applied: int | None = await conn.fetchval(
        "SELECT applied_through FROM upload_jobs WHERE workspace_id = $1 AND id = $2 FOR UPDATE",
        workspace_id,
        job_id,
    )
    return applied


async def pending_rows(
    conn: asyncpg.Connection, *, workspace_id: int, job_id: int, after: int, limit: int
) -> list[PendingRow]:
    """The next rows after line ``after``, in line order."""
    rows = await conn.fetch(
        """
        SELECT line, query, raw, refusal, refusal_detail FROM upload_rows
        WHERE workspace_id = $1 AND job_id = $2 AND line > $3
        ORDER BY line LIMIT $4
        """,
        workspace_id,
        job_id,
        after,
        limit,
    )
    return [PendingRow(**dict(row)) for row in rows]


_RESULT_COLUMNS = ("workspace_id", "job_id", "line", "outcome", "reason", "detail", "event_id")


async def record_outcomes(
    conn: asyncpg.Connection,
    *,
    workspace_id: int,
    job_id: int,
    rows: Sequence[PendingRow],
    outcomes: Sequence[Outcome],
) -> None:
    """Each row's result and the job's counters, in the transaction that applied the rows."""
    await conn.copy_records_to_table(
        "upload_results",
        columns=_RESULT_COLUMNS,
        records=[
            (workspace_id, job_id, row.line, o.outcome.value, o.reason, o.detail, o.event_id)
            for row, o in zip(rows, outcomes, strict=True)
        ],
    )
    counts = {kind: sum(o.outcome is kind for o in outcomes) for kind in HitOutcome}
    await conn.execute(
        """
        UPDATE upload_jobs
        SET processed_rows = processed_rows + $3, accepted = accepted + $4,
            updated = updated + $5, duplicate = duplicate + $6, rejected = rejected + $7,
            applied_through = $8
        WHERE workspace_id = $1 AND id = $2
        """,
        workspace_id,
        job_id,
        len(outcomes),
        counts[HitOutcome.ACCEPTED],
        counts[HitOutcome.UPDATED],
        counts[HitOutcome.DUPLICATE],
        counts[HitOutcome.REJECTED],
        rows[-1].line,
    )


async def finish(conn: asyncpg.Connection, *, workspace_id: int, job_id: int) -> None:
    await conn.execute(
        "UPDATE upload_jobs SET finished_at = now() "
        "WHERE workspace_id = $1 AND id = $2 AND finished_at IS NULL",
        workspace_id,
        job_id,
    )
    await conn.execute("DELETE FROM upload_queue WHERE job_id = $1", job_id)
