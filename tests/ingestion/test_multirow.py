"""Batched inserts as multi-row VALUES: every row, in order, in as few statements as allowed."""

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ingestion.multirow import LARGEST_CHUNK, chunks, insert, values_list
from ingestion.postbacks.repository import _INSERT_EVENT
from models.database import driver_connection


@pytest.mark.parametrize("count", [0, 1, 2, 50, 511, 512, 513, 1500])
def test_chunks_keep_every_row_in_order_in_as_few_statements_as_allowed(count: int):
    rows = list(range(count))
    cut = list(chunks(rows))
    assert [row for chunk in cut for row in chunk] == rows
    assert len(cut) == -(-count // 512)


def test_values_list_numbers_parameters_row_by_row():
    assert values_list(2, 3) == "($1, $2), ($3, $4), ($5, $6)"


async def test_the_largest_batch_statement_is_prepared_once_per_connection(engine: AsyncEngine):
    # The widest multi-row text there is: a full chunk of events.
    width = _INSERT_EVENT.split("VALUES")[0].count(",") + 1
    rows = [tuple(str(column) for column in range(width))] * LARGEST_CHUNK
    statement = "SELECT count(*) FROM (VALUES {values}) AS v"
    async with driver_connection(engine) as conn:
        for _ in range(2):
            [answer] = await insert(conn, statement, rows)
            assert answer[0] == LARGEST_CHUNK
        # asyncpg names (and keeps) the statements it caches; uncached ones go unnamed and
        # are parsed and planned again on every call.
        kept = await conn.fetchval(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT count(*) "
            "FROM (VALUES%'"
        )
    assert kept == 1
