"""SQL for reading clicks."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from api.clicks.filters import CLICKS, ClickFilter, click_condition
from api.database import fetch_all, fetch_count
from api.pagination import Position
from models.click_ids import click_time


async def page(
    engine: AsyncEngine,
    *,
    workspace_id: int,
    filter_: ClickFilter | None,
    after: Position | None,
    size: int,
    newest_first: bool,
) -> Sequence[Row[Any]]:
    """Up to ``size`` + 1 clicks after ``after`` in (time, id) order: keyset, never OFFSET."""
    c = CLICKS.c
    statement = select(CLICKS).where(click_condition(CLICKS, filter_, workspace_id=workspace_id))
    if after is not None:
        key = tuple_(c.created_at, c.id)
        position = tuple_(after.time, after.id)
        statement = statement.where(key < position if newest_first else key > position)
    order = (c.created_at.desc(), c.id.desc()) if newest_first else (c.created_at, c.id)
    return await fetch_all(engine, statement.order_by(*order).limit(size + 1))


async def count(engine: AsyncEngine, *, workspace_id: int, filter_: ClickFilter | None) -> int:
    condition = click_condition(CLICKS, filter_, workspace_id=workspace_id)
    return await fetch_count(engine, select(func.count()).select_from(CLICKS).where(condition))


async def by_ids(
    engine: AsyncEngine, *, workspace_id: int, ids: Sequence[str]
) -> Sequence[Row[Any]]:
    """Clicks by id; the time encoded in each id finds its partition."""
    keys = [(time, click_id) for click_id in ids if (time := click_time(click_id)) is not None]
    if not keys:
        return []
    c = CLICKS.c
    return await fetch_all(
        engine,
        select(CLICKS).where(
            c.workspace_id == workspace_id,
            # The time range lets PostgreSQL skip partitions the ids cannot be in.
            c.created_at.between(min(k[0] for k in keys), max(k[0] for k in keys)),
            tuple_(c.created_at, c.id).in_(keys),
        ),
    )
