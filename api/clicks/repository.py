"""SQL for reading clicks."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    FromClause,
    Row,
    Select,
    and_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from api.click_filter import CLICKS, ClickFilter, click_condition
from api.database import click_keys, fetch_all
from api.pagination import Position
from models.click_ids import click_time


def page_statement(
    clicks: FromClause,
    *,
    workspace_id: int,
    filter_: ClickFilter | None,
    after: Position | None,
    size: int,
    newest_first: bool,
) -> Select[Any]:
    """Up to ``size`` + 1 clicks of ``clicks`` (the table or an alias of it) after ``after`` in
    (time, id) order: keyset, never OFFSET."""
    c = clicks.c
    statement = select(clicks).where(click_condition(clicks, filter_, workspace_id=workspace_id))
    if after is not None:
        key = tuple_(c.created_at, c.id)
        position = tuple_(after.time, after.id)
        statement = statement.where(key < position if newest_first else key > position)
    order = (c.created_at.desc(), c.id.desc()) if newest_first else (c.created_at, c.id)
    return statement.order_by(*order).limit(size + 1)


async def page(
    engine: AsyncEngine,
    *,
    workspace_id: int,
    filter_: ClickFilter | None,
    after: Position | None,
    size: int,
    newest_first: bool,
) -> Sequence[Row[Any]]:
    return await fetch_all(
        engine,
        page_statement(
            CLICKS,
            workspace_id=workspace_id,
            filter_=filter_,
            after=after,
            size=size,
            newest_first=newest_first,
        ),
    )


async def by_ids(
    engine: AsyncEngine, *, workspace_id: int, ids: Sequence[str]
) -> Sequence[Row[Any]]:
    """Clicks by id; the time encoded in each id finds its partition."""
    keys = [(time, click_id) for click_id in ids if (time := click_time(click_id)) is not None]
    if not keys:
        return []
    c = CLICKS.c
    wanted = click_keys(keys)
    return await fetch_all(
        engine,
        select(CLICKS)
        .join(wanted, and_(c.created_at == wanted.c.time, c.id == wanted.c.id))
        .where(
            c.workspace_id == workspace_id,
            # The time range lets PostgreSQL skip partitions the ids cannot be in.
            c.created_at.between(min(k[0] for k in keys), max(k[0] for k in keys)),
        ),
    )
