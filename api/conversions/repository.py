"""SQL for reading conversion events."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, and_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from api.clicks.filters import EVENTS, TYPES
from api.database import fetch_all
from models.click_ids import click_time

# Events with their type's name and flags: resolvers need both, one statement gets both.
_EVENTS_WITH_TYPE = select(
    EVENTS,
    TYPES.c.name.label("type_name"),
    TYPES.c.counts_as_conversion,
    TYPES.c.counts_in_revenue,
).select_from(
    EVENTS.join(
        TYPES, and_(TYPES.c.workspace_id == EVENTS.c.workspace_id, TYPES.c.id == EVENTS.c.type_id)
    )
)


async def by_click_ids(
    engine: AsyncEngine, *, workspace_id: int, click_ids: Sequence[str]
) -> Sequence[Row[Any]]:
    """Every event of these clicks, oldest first."""
    keys = [(time, click_id) for click_id in click_ids if (time := click_time(click_id))]
    if not keys:
        return []
    e = EVENTS.c
    return await fetch_all(
        engine,
        _EVENTS_WITH_TYPE.where(
            e.workspace_id == workspace_id,
            e.click_created_at.between(min(k[0] for k in keys), max(k[0] for k in keys)),
            tuple_(e.click_created_at, e.click_id).in_(keys),
        ).order_by(e.created_at, e.id),
    )
