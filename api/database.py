"""How reads reach the database: one repository function per read, whoever calls it.

Sibling resolvers and DataLoader batches run concurrently, so they read through the engine,
each read on its own pooled connection (one asyncpg connection runs one statement at a time).
A mutation reads through the request's session instead, inside its transaction: it sees
what it wrote.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, DateTime, Executable, Row, Text, bindparam, func
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.selectable import TableValuedAlias

# The engine (a connection of the read's own) or the request's session (its transaction).
Reader = AsyncEngine | AsyncSession


async def fetch_all(reader: Reader, statement: Executable) -> Sequence[Row[Any]]:
    if isinstance(reader, AsyncSession):
        return (await reader.execute(statement)).all()
    async with reader.connect() as conn:
        return (await conn.execute(statement)).all()


async def fetch_count(reader: Reader, statement: Executable) -> int:
    rows = await fetch_all(reader, statement)
    return int(rows[0][0])


def click_keys(keys: Sequence[tuple[datetime, str]]) -> TableValuedAlias:
    """(time, id) pairs as a table: two array parameters, so the SQL text (and the prepared
    statement asyncpg caches for it) is the same for any number of keys."""
    return (
        func.unnest(
            bindparam("times", [time for time, _ in keys], type_=ARRAY(DateTime(timezone=True))),
            bindparam("ids", [click_id for _, click_id in keys], type_=ARRAY(Text)),
        )
        .table_valued("time", "id")
        .render_derived("keys")
    )
