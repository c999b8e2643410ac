"""Batched inserts as multi-row INSERT ... VALUES: one statement per batch, routed row by row.

Citus sends each row of a VALUES list to its workspace's shard, where an INSERT ... SELECT
from unnest() arrays or jsonb_to_recordset() runs through the coordinator. One statement per
batch, not one per row, nor one per power-of-two chunk: a statement costs the database mostly
per statement (executor start, planning). One INSERT per row measured 4-7x slower than the set-based
statement it replaced, and power-of-two chunks (at most nine statements a batch, ten texts)
measured slower on the postback bench than one statement. The text depends on the row count, so it
is prepared once per count and connection (asyncpg keeps the last 100 per connection); group
commit batches under a steady load stay within a few dozen counts.
"""

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TypeVar

import asyncpg

T = TypeVar("T")
LARGEST_CHUNK = 512


def chunks(rows: Sequence[T], largest: int = LARGEST_CHUNK) -> Iterator[Sequence[T]]:
    """The rows in order, ``largest`` at a time (a batch of group commit is one chunk)."""
    for start in range(0, len(rows), largest):
        yield rows[start : start + largest]


@lru_cache(maxsize=128)  # as many texts as asyncpg keeps prepared
def values_list(width: int, count: int) -> str:
    """``($1, $2), ($3, $4)`` for ``count`` rows of ``width`` parameters."""
    return ", ".join(
        "(" + ", ".join(f"${row * width + column + 1}" for column in range(width)) + ")"
        for row in range(count)
    )


async def insert(
    conn: asyncpg.Connection,
    statement: str,
    rows: Sequence[tuple[object, ...]],
) -> list[asyncpg.Record]:
    """Run ``statement`` (with ``{values}`` where the VALUES list goes) over the rows, in
    order; return what its RETURNING clause gives, if it has one."""
    returned: list[asyncpg.Record] = []
    for chunk in chunks(rows):
        sql = statement.replace("{values}", values_list(len(chunk[0]), len(chunk)))
        returned.extend(await conn.fetch(sql, *(value for row in chunk for value in row)))
    return returned
