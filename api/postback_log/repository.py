"""SQL for reading the postback log."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from api.database import fetch_count
from api.pagination import Position, newest_first
from api.postback_log.filters import PostbackLogFilter
from api.values import bounded, checked_time
from models import PostbackLogEntry
from models.base import table_of

LOG = table_of(PostbackLogEntry)


async def page(
    engine: AsyncEngine,
    *,
    workspace_id: int,
    filter_: PostbackLogFilter | None,
    after: Position | None,
    size: int,
) -> Sequence[Row[Any]]:
    """Up to ``size`` + 1 hits, newest first, after ``after``: keyset on (received_at, id)."""
    c = LOG.c
    statement = select(LOG).where(_condition(workspace_id, filter_))
    return await newest_first(
        engine, statement, time=c.received_at, id_=c.id, after=after, size=size
    )


async def count(
    engine: AsyncEngine, *, workspace_id: int, filter_: PostbackLogFilter | None
) -> int:
    statement = select(func.count()).select_from(LOG).where(_condition(workspace_id, filter_))
    return await fetch_count(engine, statement)


def _condition(workspace_id: int, f: PostbackLogFilter | None) -> ColumnElement[bool]:
    c = LOG.c
    parts = [c.workspace_id == workspace_id]
    if f is not None:
        if f.received_from is not None:
            parts.append(c.received_at >= checked_time(f.received_from, "receivedFrom"))
        if f.received_before is not None:
            parts.append(c.received_at < checked_time(f.received_before, "receivedBefore"))
        if f.kinds is not None:
            parts.append(c.kind.in_([kind.value for kind in bounded(f.kinds, "kinds")]))
        if f.outcomes is not None:
            parts.append(c.outcome.in_([o.value for o in bounded(f.outcomes, "outcomes")]))
        if f.reasons is not None:
            parts.append(c.reason.in_(bounded(f.reasons, "reasons")))
        if f.click_id is not None:
            parts.append(c.click_id == f.click_id)
    return and_(*parts)
