"""Table placement on Citus, and the 0011 migration, on plain PostgreSQL."""

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import models  # noqa: F401
from models.distribution import (
    Distribution,
    Placement,
    UnclassifiedTableError,
    citus_installed,
    distribute,
    placement,
    plan,
)
from models.migrate import alembic_config


def test_every_table_of_the_metadata_is_placed_exactly_once():
    names = list(SQLModel.metadata.tables)
    placed = plan(names)
    assert sorted(d.table for d in placed) == sorted(names)
    assert [d.table for d in placed if d.placement is Placement.ANCHOR] == ["workspaces"]
    assert {d.table for d in placed if d.placement is Placement.REFERENCE} == {
        "campaign_keys",
        "postback_secrets",
        "api_key_hashes",
        "upload_queue",
        "forwarding_workspaces",
        "cost_update_queue",
    }


def test_a_table_without_workspace_id_or_a_declaration_is_refused():
    stray = Table("stray", MetaData(), Column("id", Integer, primary_key=True))
    with pytest.raises(UnclassifiedTableError, match="stray"):
        placement(stray)


def test_the_plan_places_what_foreign_keys_point_at_first():
    placed = plan(SQLModel.metadata.tables)
    position = {d.table: i for i, d in enumerate(placed)}
    for table in SQLModel.metadata.sorted_tables:
        for fk in table.foreign_key_constraints:
            assert position[fk.referred_table.name] < position[table.name], (table.name, fk.name)


def test_the_statements_the_migration_would_send_on_citus():
    placed = {d.table: d.sql for d in plan(SQLModel.metadata.tables)}
    assert placed["workspaces"] == "SELECT create_distributed_table('workspaces', 'id')"
    assert placed["clicks"] == (
        "SELECT create_distributed_table('clicks', 'workspace_id', colocate_with => 'workspaces')"
    )
    assert placed["campaign_keys"] == "SELECT create_reference_table('campaign_keys')"


def test_the_plan_refuses_a_table_the_metadata_does_not_know():
    with pytest.raises(UnclassifiedTableError, match="leftover"):
        plan(["clicks", "leftover"])


async def test_without_citus_the_migrated_database_is_plain_postgresql(engine: AsyncEngine):
    async with engine.begin() as conn:
        assert not await conn.run_sync(citus_installed)
        assert await conn.run_sync(lambda sync: distribute(sync, ["clicks"])) == []
        revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        # No Citus catalog was touched, nor any function of it called.
        assert (
            await conn.execute(text("SELECT to_regclass('pg_dist_partition')"))
        ).scalar() is None
    assert revision == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_a_distribution_says_where_its_table_went():
    assert str(Distribution("clicks", Placement.TENANT)) == (
        "clicks: distributed by workspace_id, co-located with workspaces"
    )
