import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import SQLModel

from models.click import CLICK_COLUMNS
from models.database import create_engine, driver_connection
from models.enums import CostModel
from models.migrate import downgrade, include_name, include_object, upgrade
from models.partitions import (
    PARTITIONED_TABLES,
    add_months,
    drop_partitions,
    ensure_partitions,
    month_start,
)
from models.rollups import Rollup
from models.settings import Settings
from tests.conftest import create_database, drop_database
from tests.models.test_rollups import (
    _click_rows,
    assert_rollups_match_raw_tables,
    raw_aggregates,
    rollup_contents,
)


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


# Rows for databases at an earlier revision, in SQL of that time: today's services write
# tables those revisions do not have.
async def _old_workspace(session: AsyncSession, *, name: str, timezone: str = "UTC") -> int:
    workspace_id: int = (
        await session.execute(
            text(
                "INSERT INTO workspaces (name, timezone, currency) "
                "VALUES (:n, :tz, 'USD') RETURNING id"
            ),
            {"n": name, "tz": timezone},
        )
    ).scalar_one()
    await session.execute(
        text(
            "INSERT INTO conversion_types (workspace_id, name, counts_as_conversion, "
            "counts_in_revenue, duplicate_policy, is_builtin) VALUES "
            "(:w, 'conversion', true, true, 'ignore', true), "
            "(:w, 'transaction', false, true, 'new_per_txid', true)"
        ),
        {"w": workspace_id},
    )
    await session.commit()
    return workspace_id


async def _old_campaign(
    session: AsyncSession,
    workspace_id: int,
    *,
    name: str,
    key: str | None = None,
    cost_model: CostModel = CostModel.NONE,
    cost_value: Decimal = Decimal(0),
) -> int:
    offer_id = (
        await session.execute(
            text(
                "INSERT INTO offers (workspace_id, name, url) "
                "VALUES (:w, :n, 'https://o.example/?cid={clickid}') RETURNING id"
            ),
            {"w": workspace_id, "n": f"{name} offer"},
        )
    ).scalar_one()
    campaign_id: int = (
        await session.execute(
            text(
                "INSERT INTO campaigns (workspace_id, key, name, cost_model, cost_value) "
                "VALUES (:w, :k, :n, :m, :v) RETURNING id"
            ),
            {
                "w": workspace_id,
                "k": key or f"key-{name.lower().replace(' ', '-')}-{random.randrange(10**9)}",
                "n": name,
                "m": cost_model.value,
                "v": cost_value,
            },
        )
    ).scalar_one()
    await session.execute(
        text(
            "INSERT INTO campaign_offers (workspace_id, campaign_id, offer_id) VALUES (:w, :c, :o)"
        ),
        {"w": workspace_id, "c": campaign_id, "o": offer_id},
    )
    await session.commit()
    return campaign_id


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


async def test_the_daily_rollups_migration_rolls_up_the_rows_already_stored(server_url: str):
    url = await create_database(server_url)
    engine = create_engine(url, Settings(database_url=url), application_name="clicktrail-tests")
    try:
        await upgrade(engine, revision="0002")
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            ws = await _old_workspace(session, name="Old", timezone="America/New_York")
            campaign_id = await _old_campaign(session, ws, name="Old")
            start = datetime(2030, 3, 7, tzinfo=UTC)  # across New York's switch to DST
            async with engine.begin() as conn:
                await ensure_partitions(conn, since=start, until=start + timedelta(days=4))
            rng = random.Random(11)
            moments = [start + timedelta(seconds=rng.randrange(0, 4 * 86400)) for _ in range(2000)]
            async with driver_connection(engine) as conn:
                await conn.copy_records_to_table(
                    "clicks",
                    records=_click_rows(ws, campaign_id, moments, rng),
                    columns=CLICK_COLUMNS,
                )
            await session.execute(
                text(
                    "INSERT INTO conversion_events (workspace_id, click_created_at, click_id, "
                    "type_id, txid, dedup_txid, amount, created_at) "
                    "SELECT c.workspace_id, c.created_at, c.id, t.id, c.id, c.id, 2.5, "
                    "c.created_at + interval '7 hours' FROM clicks c "
                    "JOIN conversion_types t ON t.workspace_id = c.workspace_id "
                    "AND t.name = 'conversion' WHERE c.is_unique"
                )
            )
            await session.commit()

            await upgrade(engine)
            await assert_rollups_match_raw_tables(session)
            daily = await session.execute(text("SELECT sum(clicks) FROM rollup_geo_daily_clicks"))
            assert daily.scalar() == len(moments)
            await session.commit()

            await downgrade(engine, revision="0002")
            full = Rollup(
                "full", ("campaign_id", "offer_id", "traffic_source_id", "country", "device_type")
            )
            assert await rollup_contents(session, full, event_cost=False) == await raw_aggregates(
                session, full, event_cost=False
            )
    finally:
        await engine.dispose()
        await drop_database(server_url, url)


async def test_the_event_cost_migration_prices_the_events_already_stored(server_url: str):
    url = await create_database(server_url)
    engine = create_engine(url, Settings(database_url=url), application_name="clicktrail-tests")
    try:
        await upgrade(engine, revision="0005")
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            ws = await _old_workspace(session, name="Old", timezone="Europe/Berlin")
            start = datetime(2030, 5, 7, tzinfo=UTC)
            async with engine.begin() as conn:
                await ensure_partitions(conn, since=start, until=start + timedelta(days=2))
            rng = random.Random(5)
            for name, model, value in (
                ("Per click", CostModel.CPC, "0.1"),
                ("Per sale", CostModel.CPA, "4"),
                ("Share", CostModel.REVSHARE, "20"),
            ):
                campaign_id = await _old_campaign(
                    session, ws, name=name, cost_model=model, cost_value=Decimal(value)
                )
                moments = [start + timedelta(minutes=m) for m in range(10)]
                async with driver_connection(engine) as conn:
                    await conn.copy_records_to_table(
                        "clicks",
                        records=_click_rows(ws, campaign_id, moments, rng),
                        columns=CLICK_COLUMNS,
                    )
            # Per click: a conversion of 10 and a transaction of 2.5.
            await session.execute(
                text(
                    "INSERT INTO conversion_events (workspace_id, click_created_at, click_id, "
                    "type_id, txid, dedup_txid, amount, created_at) "
                    "SELECT c.workspace_id, c.created_at, c.id, t.id, '', '', "
                    "CASE t.name WHEN 'conversion' THEN 10 ELSE 2.5 END, c.created_at "
                    "FROM clicks c JOIN conversion_types t ON t.workspace_id = c.workspace_id"
                )
            )
            await session.commit()

            await upgrade(engine)
            costs = await session.execute(
                text(
                    "SELECT k.name, t.name, sum(e.cost) FROM conversion_events e "
                    "JOIN clicks c ON c.id = e.click_id "
                    "JOIN campaigns k ON k.id = c.campaign_id "
                    "JOIN conversion_types t ON t.id = e.type_id GROUP BY 1, 2 ORDER BY 1, 2"
                )
            )
            assert [tuple(row) for row in costs] == [
                ("Per click", "conversion", 0),
                ("Per click", "transaction", 0),
                ("Per sale", "conversion", 40),
                ("Per sale", "transaction", 0),
                ("Share", "conversion", 20),
                ("Share", "transaction", 5),
            ]
            await assert_rollups_match_raw_tables(session)
            await session.commit()
            await downgrade(engine, revision="0005")
            await upgrade(engine)
    finally:
        await engine.dispose()
        await drop_database(server_url, url)


async def test_the_event_cost_migration_refuses_to_guess_a_revshare_over_100(server_url: str):
    url = await create_database(server_url)
    engine = create_engine(url, Settings(database_url=url), application_name="clicktrail-tests")
    try:
        await upgrade(engine, revision="0005")
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            ws = await _old_workspace(session, name="Old")
            campaign_id = await _old_campaign(
                session, ws, name="Share", cost_model=CostModel.REVSHARE, cost_value=Decimal(150)
            )
        with pytest.raises(RuntimeError, match=r"campaign \d+ 'Share': 150"):
            await upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE campaigns SET cost_value = 15 WHERE id = :id"), {"id": campaign_id}
            )
        await upgrade(engine)
    finally:
        await engine.dispose()
        await drop_database(server_url, url)
