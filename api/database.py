"""Reads for resolvers and loaders.

Sibling resolvers and DataLoader batches run concurrently, so each read takes its own pooled
connection instead of sharing the request's session (one asyncpg connection runs one
statement at a time).
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Executable, Row
from sqlalchemy.ext.asyncio import AsyncEngine


async def fetch_all(engine: AsyncEngine, statement: Executable) -> Sequence[Row[Any]]:
    async with engine.connect() as conn:
        return (await conn.execute(statement)).all()


async def fetch_count(engine: AsyncEngine, statement: Executable) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(statement)).scalar_one())
