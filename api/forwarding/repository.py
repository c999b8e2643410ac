"""SQL of forwarding's API side: templates (written through the request's session) and reads
for loaders and resolvers (through the engine, concurrently)."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Result, Row, and_, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.database import fetch_all, fetch_count
from api.forwarding.filters import ForwardFilter
from api.pagination import Position, newest_first
from api.values import bounded, checked_time, row_ids
from models import (
    ConversionType,
    Forward,
    ForwardAttempt,
    ForwardingWorkspace,
    ForwardTemplate,
    TrafficSource,
)
from models.base import table_of
from models.enums import ForwardState

_TEMPLATES = table_of(ForwardTemplate)
_DIRECTORY = table_of(ForwardingWorkspace)
_SOURCES = table_of(TrafficSource)
_TYPES = table_of(ConversionType)


async def source_and_type_exist(
    session: AsyncSession, *, workspace_id: int, traffic_source_id: int, conversion_type_id: int
) -> tuple[bool, bool]:
    """Whether the workspace has this traffic source, and this conversion type."""
    sources, types = _SOURCES, _TYPES
    row = (
        await session.execute(
            select(
                select(sources.c.id)
                .where(sources.c.workspace_id == workspace_id, sources.c.id == traffic_source_id)
                .exists(),
                select(types.c.id)
                .where(types.c.workspace_id == workspace_id, types.c.id == conversion_type_id)
                .exists(),
            )
        )
    ).one()
    return bool(row[0]), bool(row[1])


async def upsert_template(
    session: AsyncSession, *, workspace_id: int, values: Mapping[str, Any]
) -> Row[Any]:
    """The source's template for the conversion type, created or replaced."""
    table = _TEMPLATES
    statement = pg_insert(table).values(workspace_id=workspace_id, **values)
    changed = {name: statement.excluded[name] for name in values}
    result: Result[Any] = await session.execute(
        statement.on_conflict_do_update(
            index_elements=[
                table.c.workspace_id,
                table.c.traffic_source_id,
                table.c.conversion_type_id,
            ],
            set_={**changed, "updated_at": func.now()},
        ).returning(table)
    )
    return result.one()


async def list_forwarding_workspace(session: AsyncSession, *, workspace_id: int) -> None:
    """Make the forwarder look at this workspace's outbox (a reference table on Citus)."""
    statement = pg_insert(_DIRECTORY).values(workspace_id=workspace_id)
    await session.execute(
        statement.on_conflict_do_nothing(index_elements=[_DIRECTORY.c.workspace_id])
    )


async def delete_template(session: AsyncSession, *, workspace_id: int, id: int) -> bool:
    table = _TEMPLATES
    result = await session.execute(
        delete(table)
        .where(table.c.workspace_id == workspace_id, table.c.id == id)
        .returning(table.c.id)
    )
    return result.first() is not None


async def templates_by_source(
    engine: AsyncEngine, *, workspace_id: int, source_ids: Sequence[int]
) -> Sequence[Row[Any]]:
    table = _TEMPLATES
    return await fetch_all(
        engine,
        select(table)
        .where(table.c.workspace_id == workspace_id, table.c.traffic_source_id.in_(source_ids))
        .order_by(table.c.traffic_source_id, table.c.conversion_type_id),
    )


_FORWARDS = table_of(Forward)
_ATTEMPTS = table_of(ForwardAttempt)
# A forward's attempts shown at most (newest first): retries stop at the attempt limit, but
# replays start again.
MAX_ATTEMPTS_SHOWN = 100


def _condition(workspace_id: int, f: ForwardFilter | None) -> ColumnElement[bool]:
    c = _FORWARDS.c
    parts = [c.workspace_id == workspace_id]
    if f is not None:
        if f.states is not None:
            parts.append(c.state.in_([s.value for s in bounded(f.states, "states")]))
        if f.traffic_source_ids is not None:
            ids = row_ids(bounded(f.traffic_source_ids, "trafficSourceIds"), "trafficSourceIds")
            parts.append(c.traffic_source_id.in_(ids))
        if f.conversion_event_id is not None:
            [event_id] = row_ids([f.conversion_event_id], "conversionEventId")
            parts.append(c.conversion_event_id == event_id)
        if f.click_id is not None:
            parts.append(c.click_id == f.click_id)
        if f.created_from is not None:
            parts.append(c.created_at >= checked_time(f.created_from, "createdFrom"))
        if f.created_before is not None:
            parts.append(c.created_at < checked_time(f.created_before, "createdBefore"))
    return and_(*parts)


async def page(
    engine: AsyncEngine,
    *,
    workspace_id: int,
    filter_: ForwardFilter | None,
    after: Position | None,
    size: int,
) -> Sequence[Row[Any]]:
    """Up to ``size`` + 1 forwards, newest first, after ``after``: keyset on (created_at, id)."""
    c = _FORWARDS.c
    statement = select(_FORWARDS).where(_condition(workspace_id, filter_))
    return await newest_first(
        engine, statement, time=c.created_at, id_=c.id, after=after, size=size
    )


async def count(engine: AsyncEngine, *, workspace_id: int, filter_: ForwardFilter | None) -> int:
    statement = select(func.count()).select_from(_FORWARDS).where(_condition(workspace_id, filter_))
    return await fetch_count(engine, statement)


async def by_event_ids(
    engine: AsyncEngine, *, workspace_id: int, event_ids: Sequence[int]
) -> Sequence[Row[Any]]:
    c = _FORWARDS.c
    return await fetch_all(
        engine,
        select(_FORWARDS)
        .where(c.workspace_id == workspace_id, c.conversion_event_id.in_(event_ids))
        .order_by(c.created_at, c.id),
    )


async def attempts_by_forward_ids(
    engine: AsyncEngine, *, workspace_id: int, forward_ids: Sequence[int]
) -> Sequence[Row[Any]]:
    """The newest MAX_ATTEMPTS_SHOWN attempts of each forward, newest first."""
    c = _ATTEMPTS.c
    ranked = (
        select(
            _ATTEMPTS,
            func.row_number()
            .over(partition_by=c.forward_id, order_by=(c.attempted_at.desc(), c.id.desc()))
            .label("rank"),
        )
        .where(c.workspace_id == workspace_id, c.forward_id.in_(forward_ids))
        .subquery()
    )
    return await fetch_all(
        engine,
        select(ranked)
        .where(ranked.c.rank <= MAX_ATTEMPTS_SHOWN)
        .order_by(ranked.c.forward_id, ranked.c.rank),
    )


async def replay(session: AsyncSession, *, workspace_id: int, id: int) -> Row[Any] | None:
    """Make a delivered or dead forward due now, its attempts counted from 0 again; the row
    as it is then, or None when the workspace has no such forward (or it is pending)."""
    table = _FORWARDS
    c = table.c
    result: Result[Any] = await session.execute(
        update(table)
        .where(c.workspace_id == workspace_id, c.id == id, c.state != ForwardState.PENDING.value)
        .values(
            state=ForwardState.PENDING.value,
            attempts=0,
            next_attempt_at=func.now(),
            delivered_at=None,
        )
        .returning(table)
    )
    return result.first()


async def forward_by_id(session: AsyncSession, *, workspace_id: int, id: int) -> Row[Any] | None:
    c = _FORWARDS.c
    result = await session.execute(
        select(_FORWARDS).where(c.workspace_id == workspace_id, c.id == id)
    )
    return result.first()
