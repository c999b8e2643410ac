from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from models.database import create_engine
from models.migrate import downgrade, include_name, include_object, upgrade
from models.partitions import (
    PARTITIONED_TABLES,
    add_months,
    drop_partitions,
    ensure_partitions,
    month_start,
)
from models.settings import Settings
from tests.conftest import create_database, drop_database


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection,
        opts={
            "include_name": include_name,
            "include_object": include_object,
            "compare_type": True,
            "compare_server_default": True,
        },
    )
    return list(compare_metadata(context, SQLModel.metadata))


async def test_migrations_build_exactly_the_models(engine: AsyncEngine):
    async with engine.connect() as conn:
        assert await conn.run_sync(_differences) == []


async def test_upgrade_downgrade_upgrade(server_url: str):
    url = await create_database(server_url)
    engine = create_engine(url, Settings(database_url=url), application_name="clicktrail-tests")
    try:
        await upgrade(engine)
        await downgrade(engine, revision="base")
        async with engine.connect() as conn:
            left = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert left == ["alembic_version"]
        await upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await engine.dispose()
        await drop_database(server_url, url)


async def test_partitions_exist_for_this_month_and_the_months_ahead(engine: AsyncEngine):
    now = datetime.now(UTC)
    async with engine.connect() as conn:
        names = set(
            (
                await conn.execute(
                    text("SELECT relname FROM pg_class WHERE relispartition AND relkind = 'r'")
                )
            ).scalars()
        )
    for months in range(4):
        month = add_months(month_start(now), months)
        for table in PARTITIONED_TABLES:
            assert f"{table}_y{month.year}m{month.month:02d}" in names


async def test_ensure_partitions_creates_only_what_is_missing(engine: AsyncEngine):
    since = datetime(2025, 11, 15, tzinfo=UTC)
    until = datetime(2026, 1, 2, tzinfo=UTC)
    async with engine.begin() as conn:
        created = await ensure_partitions(conn, since=since, until=until)
        again = await ensure_partitions(conn, since=since, until=until)
    assert sorted(created) == sorted(
        f"{table}_y{year}m{month:02d}"
        for table in PARTITIONED_TABLES
        for year, month in [(2025, 11), (2025, 12), (2026, 1)]
    )
    assert again == []
    async with engine.begin() as conn:
        dropped = await drop_partitions(conn, before=datetime(2026, 2, 1, tzinfo=UTC))
    assert sorted(dropped) == sorted(created)
