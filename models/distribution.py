"""Where each table lives on Citus, derived from the metadata.

Every tenant table (one with a ``workspace_id`` column) is hash-distributed by it and
co-located with ``workspaces``, itself distributed by ``id``: one workspace's rows of every
table then sit in the same shard group, so a statement with ``workspace_id = $n`` is one task
on one worker, joins included. The directories (tables whose metadata says ``reference``) are
copied to every node instead, because their keys are global identifiers. On plain PostgreSQL
nothing here runs: ``distribute`` does nothing when the ``citus`` extension is absent.

A migration that creates a table calls ``distribute`` for it; so did 0011 for every table.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, MetaData, Table, text
from sqlmodel import SQLModel

from models.workspace import Workspace

TENANT_KEY = "workspace_id"
ANCHOR: Table = Workspace.__table__  # type: ignore[attr-defined]
ANCHOR_KEY = "id"
# Where migrations leave what they distributed, for `clicktrail migrate` to tell.
DISTRIBUTED = "clicktrail_distributed"


class Placement(StrEnum):
    ANCHOR = "distributed by id"
    TENANT = "distributed by workspace_id, co-located with workspaces"
    REFERENCE = "reference table (a copy on every node)"


class UnclassifiedTableError(Exception):
    """A table that is neither a tenant table, the anchor nor a declared reference table."""


@dataclass(frozen=True, slots=True)
class Distribution:
    table: str
    placement: Placement

    @property
    def sql(self) -> str:
        """The statement that distributes the table (names come from the metadata)."""
        name = _literal(self.table)
        if self.placement is Placement.REFERENCE:
            return f"SELECT create_reference_table({name})"
        if self.placement is Placement.ANCHOR:
            return f"SELECT create_distributed_table({name}, {_literal(ANCHOR_KEY)})"
        return (
            f"SELECT create_distributed_table({name}, {_literal(TENANT_KEY)}, "
            f"colocate_with => {_literal(ANCHOR.name)})"
        )

    def __str__(self) -> str:
        return f"{self.table}: {self.placement.value}"


def placement(table: Table) -> Placement:
    if table.name == ANCHOR.name:
        return Placement.ANCHOR
    if table.info.get("distribution") == "reference":
        return Placement.REFERENCE
    if TENANT_KEY in table.c:
        return Placement.TENANT
    raise UnclassifiedTableError(
        f"table {table.name} has no {TENANT_KEY} column and is not declared a reference table: "
        "it cannot be placed on Citus"
    )


def tenant_tables(metadata: MetaData = SQLModel.metadata) -> frozenset[str]:
    """Tables every statement must address by ``workspace_id = $n``."""
    return frozenset(t.name for t in metadata.sorted_tables if placement(t) is Placement.TENANT)


def plan(names: Iterable[str], metadata: MetaData = SQLModel.metadata) -> list[Distribution]:
    """The distributions of these tables, in an order Citus accepts.

    Reference tables first and ``workspaces`` next, since distributed tables may hold foreign
    keys to either; then tenant tables parents first.
    """
    wanted = set(names)
    unknown = wanted - set(metadata.tables)
    if unknown:
        raise UnclassifiedTableError(f"tables not in the metadata: {', '.join(sorted(unknown))}")
    order = {Placement.REFERENCE: 0, Placement.ANCHOR: 1, Placement.TENANT: 2}
    tables = [t for t in metadata.sorted_tables if t.name in wanted]
    # sorted() is stable: within a placement the metadata's dependency order holds.
    return sorted(
        (Distribution(t.name, placement(t)) for t in tables), key=lambda d: order[d.placement]
    )


def citus_installed(connection: Connection) -> bool:
    return bool(
        connection.execute(
            text("SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')")
        ).scalar_one()
    )


def distribute(connection: Connection, names: Iterable[str]) -> list[Distribution]:
    """Distribute these tables when Citus is installed (else nothing); return what was done.

    A table that held rows keeps a hidden local copy on the coordinator after its rows are
    copied to the shards; it is truncated once every table is placed, since the truncation
    follows foreign keys.
    """
    if not citus_installed(connection):
        return []
    done = plan(names)
    # Migrations run in one transaction, and Citus refuses to create shards over parallel
    # connections once the transaction has touched a reference table that a new distributed
    # table points at (campaigns -> campaign_keys): one connection per worker, then.
    connection.execute(text("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'"))
    for distribution in done:
        connection.execute(text(distribution.sql))
    for distribution in reversed(done):
        connection.execute(
            text("SELECT truncate_local_data_after_distributing_table(CAST(:t AS regclass))"),
            {"t": distribution.table},
        )
    connection.info.setdefault(DISTRIBUTED, []).extend(done)
    return done


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
