"""The Citus rules the schema holds: workspace_id in every key of a tenant table, no triggers."""

from sqlalchemy import UniqueConstraint, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import models  # noqa: F401
from models.distribution import Placement, placement, tenant_tables
from models.partitions import PARTITION_NAME


def test_workspace_id_is_part_of_every_primary_key_and_unique_constraint():
    for table in SQLModel.metadata.sorted_tables:
        if placement(table) is not Placement.TENANT:
            continue
        unique = [c for c in table.constraints if isinstance(c, UniqueConstraint)]
        if table.primary_key.columns:
            assert "workspace_id" in table.primary_key.columns, table.name
        elif table.name.endswith("_pending"):
            # The rollups' append-only pending changes (models.rollups) have no key at all.
            assert "workspace_id" in table.columns, table.name
        else:
            # Rollups: their keys hold nullable dimensions, so a unique key stands in for one.
            assert unique, table.name
            assert unique[0].columns[0].name == "workspace_id", table.name
        for constraint in unique:
            assert "workspace_id" in constraint.columns, (table.name, constraint.name)


def test_every_foreign_key_between_tenant_tables_includes_workspace_id():
    for table in SQLModel.metadata.sorted_tables:
        for fk in table.foreign_key_constraints:
            if fk.referred_table.name == "workspaces":
                assert placement(table) is not Placement.REFERENCE, (
                    "a reference table cannot refer to a distributed one"
                )
                continue
            assert "workspace_id" in fk.columns, (table.name, fk.name)
            assert fk.elements[0].column.name == "workspace_id", (table.name, fk.name)


# Keys as the migrations built them, partitions included: unique indexes too, which Citus
# refuses as it refuses unique constraints without the distribution column.
_KEYS = text(
    """
    SELECT c.relname AS table_name, i.relname AS key_name,
           array_agg(a.attname ORDER BY k.ord) AS columns
    FROM pg_index x
    JOIN pg_class c ON c.oid = x.indrelid
    JOIN pg_class i ON i.oid = x.indexrelid
    CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
    WHERE c.relnamespace = 'public'::regnamespace AND (x.indisunique OR x.indisprimary)
    GROUP BY 1, 2
    UNION ALL
    SELECT c.relname, f.conname, array_agg(a.attname ORDER BY k.ord)
    FROM pg_constraint f
    JOIN pg_class c ON c.oid = f.conrelid
    CROSS JOIN LATERAL unnest(f.conkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
    WHERE c.relnamespace = 'public'::regnamespace AND f.contype = 'f'
    GROUP BY 1, 2
    """
)


async def test_every_key_of_a_tenant_table_in_the_database_includes_workspace_id(
    engine: AsyncEngine,
):
    async with engine.connect() as conn:
        rows = (await conn.execute(_KEYS)).all()
        parents: dict[str, str] = dict(
            (
                await conn.execute(
                    text(
                        "SELECT c.relname, p.relname FROM pg_inherits h "
                        "JOIN pg_class c ON c.oid = h.inhrelid "
                        "JOIN pg_class p ON p.oid = h.inhparent"
                    )
                )
            ).all()
        )
    tenant = tenant_tables()
    checked = {parents.get(r.table_name, r.table_name) for r in rows} & tenant
    assert checked >= {"clicks", "conversion_events", "campaigns"}  # the query finds keys
    missing = [
        (r.table_name, r.key_name)
        for r in rows
        if parents.get(r.table_name, r.table_name) in tenant and "workspace_id" not in r.columns
    ]
    assert missing == []


async def test_no_tenant_table_has_a_trigger(engine: AsyncEngine):
    """Citus refuses to distribute a table with triggers (issue 11)."""
    async with engine.connect() as conn:
        triggers = (
            await conn.execute(
                text(
                    "SELECT c.relname, t.tgname FROM pg_trigger t "
                    "JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace"
                )
            )
        ).all()
    tenant = tenant_tables()
    assert [(table, name) for table, name in triggers if _parent(table) in tenant] == []


def _parent(table: str) -> str:
    match = PARTITION_NAME.match(table)
    return match["table"] if match else table
