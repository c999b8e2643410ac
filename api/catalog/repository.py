"""SQL for what a workspace configures: sources, offers, campaigns, conversion types."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncEngine

from api.database import fetch_all
from models import Campaign, ConversionType, Offer, TrafficSource
from models.base import table_of

_TABLES = {
    "campaign": table_of(Campaign),
    "offer": table_of(Offer),
    "traffic_source": table_of(TrafficSource),
}


async def rows_by_id(
    engine: AsyncEngine, kind: str, *, workspace_id: int, ids: Sequence[int]
) -> Sequence[Row[Any]]:
    """Campaigns, offers or traffic sources of the workspace with these ids, in one statement."""
    table = _TABLES[kind]
    return await fetch_all(
        engine,
        select(table).where(table.c.workspace_id == workspace_id, table.c.id.in_(ids)),
    )


async def conversion_types(engine: AsyncEngine, *, workspace_id: int) -> Sequence[Row[Any]]:
    table = table_of(ConversionType)
    return await fetch_all(
        engine, select(table).where(table.c.workspace_id == workspace_id).order_by(table.c.id)
    )
