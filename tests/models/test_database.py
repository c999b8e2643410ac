"""The engine: json and jsonb values read as json.loads would; pooled connections that the
server closed are replaced before use."""

import json

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from models.database import create_engine, driver_connection
from models.settings import Settings
from tests.conftest import Outage

DOCUMENTS = [
    '{"conversion": [1272, 107985.74], "transaction": [910, 0.1]}',
    '{"sub1": "café 東京", "empty": "", "none": null, "flags": [true, false]}',
    '{"big": 123456789012345678901234567890, "tiny": 1e-320, "negative": -0.0}',
    '{"a": 1, "a": 2}',
    '{"huge": 1e400, "minus": -1e400}',
    '[1, [2, [3, {"four": [5]}]]]',
]


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_json_values_read_as_json_loads_reads_them(engine: AsyncEngine, document: str):
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT CAST(CAST(:d AS text) AS json) AS j,"
                    " CAST(CAST(:d AS text) AS jsonb) AS b,"
                    " CAST(CAST(:d AS text) AS jsonb)::text AS printed"
                ),
                {"d": document},
            )
        ).one()
    assert _same(row.j, json.loads(document))
    # jsonb keeps its own form of the document (key order, numbers): what it prints.
    assert _same(row.b, json.loads(row.printed))


def _same(left: object, right: object) -> bool:
    """Equal down to the float forms (-0.0, inf): json.dumps writes them apart."""
    return json.dumps(left) == json.dumps(right)


async def test_the_first_query_after_an_outage_gets_a_live_connection(
    settings: Settings, outage: Outage
):
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, settings, application_name="clicktrail-pool")
    try:
        # Open connections in the pool, both kinds of use: asyncpg itself and SQLAlchemy.
        async with driver_connection(engine) as first, engine.connect() as second:
            assert await first.fetchval("SELECT 1") == 1
            assert (await second.execute(text("SELECT 1"))).scalar_one() == 1
        async with outage():
            pass  # the server cut them
        async with driver_connection(engine) as conn:
            assert await conn.fetchval("SELECT 2") == 2
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 3"))).scalar_one() == 3
    finally:
        await engine.dispose()
