"""The engine: json and jsonb values read as json.loads would; pooled connections that the
server closed are replaced before use; new connections come with their codecs, and an app opens
its minimum of them before serving."""

import asyncio
import json

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from api.app import create_app as create_api_app
from models.database import async_url, create_engine, driver_connection
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


# A type of the tables whose codec asyncpg looks up in the catalog on first use (SQLAlchemy
# decodes cidr as text, so an array of it is not built in): workspaces.ip_allowlist.
_FIRST_USE = text("SELECT CAST('{10.0.0.0/8}' AS cidr[]) AS nets")


async def _type_lookups(engine: AsyncEngine) -> list[str]:
    """The catalog look-ups of types that a fresh connection's first statement sends."""
    sent: list[str] = []
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        raw.add_query_logger(lambda record: sent.append(record.query))
        await conn.execute(_FIRST_USE)
    # Query loggers are called soon after, not during, the statement.
    await asyncio.sleep(0)
    return [query for query in sent if "pg_catalog.pg_type" in query]


async def test_a_new_connection_has_its_codecs_before_its_first_statement(settings: Settings):
    assert settings.database_url is not None
    plain = create_async_engine(async_url(settings.database_url))
    ours = create_engine(settings.database_url, settings, application_name="codecs")
    try:
        assert await _type_lookups(plain), "the probe sees a look-up where one happens"
        assert await _type_lookups(ours) == []
    finally:
        await plain.dispose()
        await ours.dispose()


@pytest.mark.parametrize("minimum", [0, 6])
async def test_an_app_opens_its_minimum_of_connections_before_serving(
    settings: Settings, minimum: int
):
    app = create_api_app(settings.model_copy(update={"pool_min_size": minimum}))
    async with AsyncTestClient(app=app):
        pool = app.state.engine.pool
        # A QueuePool's overflow counts up from -size as it opens connections.
        opened = pool.size() + pool.overflow()
    assert opened == minimum
