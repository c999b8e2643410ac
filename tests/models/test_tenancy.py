"""The Citus-ready rules: workspace_id leads every key between tenant tables."""

from sqlalchemy import UniqueConstraint
from sqlmodel import SQLModel

import models  # noqa: F401

# Identifiers resolved before the workspace is known (models.directory): reference tables.
DIRECTORY = {"campaign_keys", "postback_secrets", "api_key_hashes"}


def test_workspace_id_is_part_of_every_primary_key_and_unique_constraint():
    for table in SQLModel.metadata.sorted_tables:
        if table.name == "workspaces" or table.name in DIRECTORY:
            continue
        unique = [c for c in table.constraints if isinstance(c, UniqueConstraint)]
        if table.primary_key.columns:
            assert "workspace_id" in table.primary_key.columns, table.name
        elif table.name.endswith("_pending"):
            # Append-only twins of the rollups (models.rollups.pending) have no key at all.
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
                assert table.name not in DIRECTORY, "a reference table cannot refer to workspaces"
                continue
            assert "workspace_id" in fk.columns, (table.name, fk.name)
            assert fk.elements[0].column.name == "workspace_id", (table.name, fk.name)
