"""Reading a database error the same way from PostgreSQL and from a Citus worker.

A worker's error reaches the client through the coordinator with its SQLSTATE and message but
without the `constraint_name` and `table_name` fields, and names shards, not tables:
`duplicate key value violates unique constraint "uq_campaigns_workspace_id_key_102233"`. So the
names are read from the fields when the server filled them, else from the message, and the
shard suffix is dropped either way. The SQLSTATE (asyncpg's exception class) is always there.
"""

import re

import asyncpg

_SHARD_SUFFIX = re.compile(r"_\d+$")
# The constraint in PostgreSQL's messages for unique, check, foreign-key and exclusion errors.
_CONSTRAINT = re.compile(r'violates (?:unique|check|foreign key|exclusion) constraint "([^"]+)"')
# The table that holds the offending row: `new row for relation "x"` (check), `no partition of
# relation "x"` or, for a foreign key, the referencing table (`... constraint "fk" on table
# "x"`, the last one named). A unique violation's message names no table.
_TABLE = re.compile(r'(?:on table|relation) "([^"]+)"')


def unsharded(name: str) -> str:
    """A table or constraint name without the shard id Citus appends to it."""
    return _SHARD_SUFFIX.sub("", name)


def constraint_of(error: asyncpg.PostgresError) -> str | None:
    """The constraint an integrity error names, as the metadata names it."""
    name = getattr(error, "constraint_name", None)
    if not name:
        match = _CONSTRAINT.search(str(error))
        name = match[1] if match else None
    return unsharded(name) if name else None


def table_of(error: asyncpg.PostgresError) -> str | None:
    """The table whose row broke a constraint (for a foreign key, the referencing one)."""
    name = getattr(error, "table_name", None)
    if not name:
        found = _TABLE.findall(str(error))
        name = found[-1] if found else None
    return unsharded(name) if name else None
