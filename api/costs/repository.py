"""Reads of cost updates, through the engine (each on a connection of its own)."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from api.database import fetch_all, fetch_count
from api.pagination import Position, newest_first
from models import CostUpdate
from models.base import table_of

_UPDATES = table_of(CostUpdate)


def _condition(workspace_id: int, campaign_id: int | None) -> ColumnElement[bool]:
    c = _UPDATES.c
    parts = [c.workspace_id == workspace_id]
    if campaign_id is not None:
        parts.append(c.campaign_id == campaign_id)
    return and_(*parts)


async def page(
    engine: AsyncEngine,
    *,
    workspace_id: int,
    campaign_id: int | None,
    after: Position | None,
    size: int,
) -> Sequence[Row[Any]]:
    """Up to ``size`` + 1 updates, newest first, after ``after``: keyset on (created_at, id)."""
    c = _UPDATES.c
    statement = select(_UPDATES).where(_condition(workspace_id, campaign_id))
    return await newest_first(
        engine, statement, time=c.created_at, id_=c.id, after=after, size=size
    )


async def count(engine: AsyncEngine, *, workspace_id: int, campaign_id: int | None) -> int:
    statement = (
        select(func.count()).select_from(_UPDATES).where(_condition(workspace_id, campaign_id))
    )
    return await fetch_count(engine, statement)


async def by_id(engine: AsyncEngine, *, workspace_id: int, id: int) -> Row[Any] | None:
    c = _UPDATES.c
    rows = await fetch_all(
        engine, select(_UPDATES).where(c.workspace_id == workspace_id, c.id == id)
    )
    return rows[0] if rows else None
