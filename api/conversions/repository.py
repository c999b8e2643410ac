"""SQL for reading conversion events."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    DateTime,
    Row,
    and_,
    bindparam,
    func,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from api.conversions.filters import ConversionFilter
from api.database import click_keys, fetch_all, fetch_count
from api.errors import QueryInputError
from api.pagination import Position
from api.values import bounded, checked_time
from models import ConversionEvent, ConversionType
from models.base import table_of
from models.click_ids import click_time

EVENTS = table_of(ConversionEvent)
TYPES = table_of(ConversionType)

_EVENTS_JOIN_TYPES = EVENTS.join(
    TYPES, and_(TYPES.c.workspace_id == EVENTS.c.workspace_id, TYPES.c.id == EVENTS.c.type_id)
)
# Events with their type's name and flags: resolvers need both, one statement gets both.
_EVENTS_WITH_TYPE = select(
    EVENTS,
    TYPES.c.name.label("type_name"),
    TYPES.c.counts_as_conversion,
    TYPES.c.counts_in_revenue,
).select_from(_EVENTS_JOIN_TYPES)


async def by_click_ids(
    engine: AsyncEngine, *, workspace_id: int, click_ids: Sequence[str]
) -> Sequence[Row[Any]]:
    """Every event of these clicks, oldest first."""
    keys = [(time, click_id) for click_id in click_ids if (time := click_time(click_id))]
    if not keys:
        return []
    e = EVENTS.c
    wanted = click_keys(keys)
    return await fetch_all(
        engine,
        _EVENTS_WITH_TYPE.join(
            wanted, and_(e.click_created_at == wanted.c.time, e.click_id == wanted.c.id)
        )
        .where(
            e.workspace_id == workspace_id,
            e.click_created_at.between(min(k[0] for k in keys), max(k[0] for k in keys)),
        )
        .order_by(e.created_at, e.id),
    )


async def by_keys(
    engine: AsyncEngine, *, workspace_id: int, keys: Sequence[tuple[datetime, int]]
) -> Sequence[Row[Any]]:
    """The events of these (click time, event id) keys that exist, oldest first."""
    if not keys:
        return []
    e = EVENTS.c
    wanted = (
        func.unnest(
            bindparam("times", [t for t, _ in keys], type_=ARRAY(DateTime(timezone=True))),
            bindparam("event_ids", [i for _, i in keys], type_=ARRAY(BigInteger)),
        )
        .table_valued("time", "id")
        .render_derived("keys")
    )
    return await fetch_all(
        engine,
        _EVENTS_WITH_TYPE.join(
            wanted, and_(e.click_created_at == wanted.c.time, e.id == wanted.c.id)
        )
        .where(
            e.workspace_id == workspace_id,
            e.click_created_at.between(min(k[0] for k in keys), max(k[0] for k in keys)),
        )
        .order_by(e.created_at, e.id),
    )


async def page(
    engine: AsyncEngine,
    *,
    workspace_id: int,
    filter_: ConversionFilter | None,
    after: Position | None,
    size: int,
) -> Sequence[Row[Any]]:
    """Up to ``size`` + 1 events, newest first, after ``after``: keyset on (created_at, id)."""
    e = EVENTS.c
    statement = _EVENTS_WITH_TYPE.where(_condition(workspace_id, filter_))
    if after is not None:
        statement = statement.where(
            tuple_(e.created_at, e.id) < tuple_(after.time, _event_id(after.id))
        )
    return await fetch_all(
        engine, statement.order_by(e.created_at.desc(), e.id.desc()).limit(size + 1)
    )


async def count(engine: AsyncEngine, *, workspace_id: int, filter_: ConversionFilter | None) -> int:
    statement = (
        select(func.count())
        .select_from(_EVENTS_JOIN_TYPES)
        .where(_condition(workspace_id, filter_))
    )
    return await fetch_count(engine, statement)


def _condition(workspace_id: int, f: ConversionFilter | None) -> ColumnElement[bool]:
    e = EVENTS.c
    parts = [e.workspace_id == workspace_id]
    if f is not None:
        if f.created_from is not None:
            parts.append(e.created_at >= checked_time(f.created_from, "createdFrom"))
        if f.created_before is not None:
            parts.append(e.created_at < checked_time(f.created_before, "createdBefore"))
        if f.types is not None:
            parts.append(TYPES.c.name.in_(bounded(f.types, "types")))
        if f.statuses is not None:
            parts.append(e.status.in_([s.value for s in bounded(f.statuses, "statuses")]))
        if f.click_id is not None:
            time = click_time(f.click_id)
            if time is None:
                raise QueryInputError(f"clickId {f.click_id[:60]!r} is not a click id")
            parts += [e.click_created_at == time, e.click_id == f.click_id]
    return and_(*parts)


def _event_id(cursor_id: str) -> int:
    try:
        return int(cursor_id)
    except ValueError:
        raise QueryInputError("cursor is not one this API returned") from None
