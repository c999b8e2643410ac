"""citus distribution: on a Citus coordinator, place every table; on PostgreSQL, nothing

`workspaces` is distributed by id, every tenant table by workspace_id co-located with it, and
the directories become reference tables (see models.distribution). Without the `citus`
extension this revision only records itself. Later migrations call
`models.distribution.distribute` for the tables they create.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-05 13:30:00.000000
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from models.distribution import distribute

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    # The tables this database has now (partitions follow their parent; alembic's own stays on
    # the coordinator).
    names = bind.execute(
        text(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind IN ('r', 'p') AND NOT relispartition AND relname <> 'alembic_version'"
        )
    ).scalars()
    distribute(bind, list(names))


def downgrade() -> None:
    # Undistributing (undistribute_table) copies every shard back to the coordinator: an
    # operator's decision, not a schema step.
    pass
