"""SQL of forwarding's API side: templates (written through the request's session) and reads
for loaders and resolvers (through the engine, concurrently)."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Result, Row, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.database import fetch_all
from models import ConversionType, ForwardingWorkspace, ForwardTemplate, TrafficSource
from models.base import table_of

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
