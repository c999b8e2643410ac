"""Batched inserts as multi-row INSERT ... VALUES: one statement per chunk, routed row by row.

Citus sends each row of a VALUES list to its workspace's shard, where an INSERT ... SELECT
from unnest() arrays or jsonb_to_recordset() runs through the coordinator. One statement per
chunk, not one per row: a statement costs the database mostly per statement (executor start,
and until issue 11's section 1 lands, five rollup trigger statements on conversion events),
and one INSERT per row measured 4-7x slower than the set-based statement it replaces.

The text of a VALUES list depends on its length, so a batch is cut into chunks whose sizes are
powers of two: at most ``log2(largest) + 1`` texts per statement, each prepared once per
connection, and at most that many statements per batch.
"""

from collections.abc import Iterator, Sequence
from functools import cache
from typing import TypeVar

import asyncpg

T = TypeVar("T")
LARGEST_CHUNK = 512


def chunks(rows: Sequence[T], largest: int = LARGEST_CHUNK) -> Iterator[Sequence[T]]:
    """The rows in order, in chunks of power-of-two sizes, largest first."""
    start = 0
    size = largest
    while start < len(rows):
        while size > len(rows) - start:
            size //= 2
        yield rows[start : start + size]
        start += size


@cache
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
