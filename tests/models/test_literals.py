"""Values written out as SQL read back as the values they were."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from models.database import driver_connection
from models.literals import NulInTextError, literal, row


async def test_each_kind_of_value_reads_back_as_it_was(engine: AsyncEngine):
    moment = datetime(2030, 1, 1, 12, 7, 5, 123456, tzinfo=UTC)
    values = (None, True, False, -(2**62), "it's a \\ back'slash", moment, Decimal("-0.000001"))
    async with driver_connection(engine) as conn:
        got = await conn.fetchrow(
            "SELECT a::int, b::boolean, c::boolean, d::bigint, e::text, f::timestamptz, "
            f"g::numeric FROM (VALUES {row(values)}) AS v (a, b, c, d, e, f, g)"
        )
    assert got is not None
    assert tuple(got) == values


def test_a_text_with_a_nul_is_refused():
    with pytest.raises(NulInTextError):
        literal("a\x00b")


def test_a_time_without_a_zone_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        literal(datetime(2030, 1, 1))
