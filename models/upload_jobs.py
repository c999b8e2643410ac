"""Taking an upload: its job and rows stored in one transaction, and its progress read back.

Both the GraphQL API and the CLI take files; the ingestion service applies their rows
(`ingestion.uploads`).
"""

from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg

from models.upload_files import UploadFile

MAX_FILENAME = 255
_ROW_COLUMNS = ("workspace_id", "job_id", "line", "query", "raw", "refusal", "refusal_detail")


@dataclass(frozen=True, slots=True)
class JobProgress:
    id: int
    created_at: datetime
    filename: str
    format: str
    total_rows: int
    processed_rows: int
    accepted: int
    updated: int
    duplicate: int
    rejected: int
    finished_at: datetime | None
    # False when the same file was uploaded before: this is that upload's job.
    created: bool = True

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


async def store_upload(
    conn: asyncpg.Connection, *, workspace_id: int, filename: str, upload: UploadFile
) -> JobProgress:
    """Store the job and its rows, or find the job of the same file; the caller commits.

    Once committed the upload is acknowledged: the rows wait in the table, and the queue
    entry tells a worker there is work, until every row has its outcome.
    """
    job_id: int | None = await conn.fetchval(
        """
        INSERT INTO upload_jobs (workspace_id, filename, format, digest, total_rows)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (workspace_id, digest) DO NOTHING
        RETURNING id
        """,
        workspace_id,
        _printable(filename)[:MAX_FILENAME] or "upload",
        upload.format,
        upload.digest,
        len(upload.rows),
    )
    if job_id is None:
        existing = await conn.fetchval(
            "SELECT id FROM upload_jobs WHERE workspace_id = $1 AND digest = $2",
            workspace_id,
            upload.digest,
        )
        found = await job_progress(conn, workspace_id=workspace_id, job_id=existing)
        assert found is not None
        return replace(found, created=False)
    await conn.copy_records_to_table(
        "upload_rows",
        columns=_ROW_COLUMNS,
        records=[
            (workspace_id, job_id, r.line, r.query, r.raw, r.refusal, r.refusal_detail)
            for r in upload.rows
        ],
    )
    await conn.execute(
        "INSERT INTO upload_queue (job_id, workspace_id) VALUES ($1, $2)", job_id, workspace_id
    )
    progress = await job_progress(conn, workspace_id=workspace_id, job_id=job_id)
    assert progress is not None
    return progress


async def job_progress(
    conn: asyncpg.Connection, *, workspace_id: int, job_id: int
) -> JobProgress | None:
    row = await conn.fetchrow(
        """
        SELECT id, created_at, filename, format, total_rows, processed_rows, accepted, updated,
               duplicate, rejected, finished_at
        FROM upload_jobs WHERE workspace_id = $1 AND id = $2
        """,
        workspace_id,
        job_id,
    )
    return None if row is None else JobProgress(**dict(row))


def _printable(name: str) -> str:
    # A file name is the client's to choose: no control characters (NUL among them) stored.
    return "".join(c for c in name if c.isprintable()).strip()


@dataclass(frozen=True, slots=True)
class RowResult:
    line: int
    outcome: str
    reason: str
    detail: str
    event_id: int | None


async def rejected_rows(
    conn: asyncpg.Connection, *, workspace_id: int, job_id: int, limit: int
) -> list[RowResult]:
    rows = await conn.fetch(
        """
        SELECT line, outcome, reason, detail, event_id FROM upload_results
        WHERE workspace_id = $1 AND job_id = $2 AND outcome = 'rejected'
        ORDER BY line LIMIT $3
        """,
        workspace_id,
        job_id,
        limit,
    )
    return [RowResult(**dict(row)) for row in rows]
