"""SQL of uploads' API side: jobs and row results, read through the engine."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from api.database import fetch_all, fetch_count
from api.values import bounded
from models import UploadJob, UploadResult
from models.base import table_of
from models.enums import HitOutcome

_JOBS = table_of(UploadJob)
_RESULTS = table_of(UploadResult)
_JOB_COLUMNS = [
    _JOBS.c[name]
    for name in (
        "id",
        "created_at",
        "filename",
        "format",
        "total_rows",
        "processed_rows",
        "accepted",
        "updated",
        "duplicate",
        "rejected",
        "finished_at",
    )
]


async def job(engine: AsyncEngine, *, workspace_id: int, id: int) -> Row[Any] | None:
    c = _JOBS.c
    rows = await fetch_all(
        engine, select(*_JOB_COLUMNS).where(c.workspace_id == workspace_id, c.id == id)
    )
    return rows[0] if rows else None


async def job_page(
    engine: AsyncEngine, *, workspace_id: int, after: tuple[datetime, int] | None, size: int
) -> Sequence[Row[Any]]:
    """Up to ``size`` + 1 jobs, newest first, after ``after``: keyset on (created_at, id)."""
    c = _JOBS.c
    statement = select(*_JOB_COLUMNS).where(c.workspace_id == workspace_id)
    if after is not None:
        statement = statement.where(tuple_(c.created_at, c.id) < tuple_(*after))
    return await fetch_all(
        engine, statement.order_by(c.created_at.desc(), c.id.desc()).limit(size + 1)
    )


async def job_count(engine: AsyncEngine, *, workspace_id: int) -> int:
    statement = select(func.count()).select_from(_JOBS).where(_JOBS.c.workspace_id == workspace_id)
    return await fetch_count(engine, statement)


def _results_condition(
    workspace_id: int, job_id: int, outcomes: list[HitOutcome] | None
) -> ColumnElement[bool]:
    c = _RESULTS.c
    parts = [c.workspace_id == workspace_id, c.job_id == job_id]
    if outcomes is not None:
        parts.append(c.outcome.in_([o.value for o in bounded(outcomes, "outcomes")]))
    return and_(*parts)


async def result_page(
    engine: AsyncEngine,
    *,
    workspace_id: int,
    job_id: int,
    outcomes: list[HitOutcome] | None,
    after_line: int | None,
    size: int,
) -> Sequence[Row[Any]]:
    """Up to ``size`` + 1 row results in line order, after line ``after_line``."""
    c = _RESULTS.c
    statement = select(c.line, c.outcome, c.reason, c.detail, c.event_id).where(
        _results_condition(workspace_id, job_id, outcomes)
    )
    if after_line is not None:
        statement = statement.where(c.line > after_line)
    return await fetch_all(engine, statement.order_by(c.line).limit(size + 1))


async def result_count(
    engine: AsyncEngine, *, workspace_id: int, job_id: int, outcomes: list[HitOutcome] | None
) -> int:
    statement = (
        select(func.count())
        .select_from(_RESULTS)
        .where(_results_condition(workspace_id, job_id, outcomes))
    )
    return await fetch_count(engine, statement)
