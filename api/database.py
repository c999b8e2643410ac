"""Reads for resolvers and loaders.

Sibling resolvers and DataLoader batches run concurrently, so each read takes its own pooled
connection instead of sharing the request's session (one asyncpg connection runs one
statement at a time).
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, DateTime, Executable, Row, Text, bindparam, func
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.selectable import TableValuedAlias


async def fetch_all(engine: AsyncEngine, statement: Executable) -> Sequence[Row[Any]]:
    async with engine.connect() as conn:
        return (await conn.execute(statement)).all()


async def fetch_count(engine: AsyncEngine, statement: Executable) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(statement)).scalar_one())


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
