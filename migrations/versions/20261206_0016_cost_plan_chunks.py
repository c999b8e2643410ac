"""cost update plans made in chunks: a cursor and the time the plan was finished

A cost update is no longer planned in the statement that records it (over several million
clicks that statement ran into the statement timeout): it is planned in chunks of a bounded
number of the campaign's clicks, each in a transaction of its own that stores its batches and
moves the cursor. Updates recorded before were planned then: `planned_at` is their creation.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 03:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cost_updates", sa.Column("planned_at", sa.DateTime(timezone=True)))
    op.add_column("cost_updates", sa.Column("plan_cursor_at", sa.DateTime(timezone=True)))
    op.add_column("cost_updates", sa.Column("plan_cursor_id", sa.Text()))
    op.execute("UPDATE cost_updates SET planned_at = created_at")


def downgrade() -> None:
    # An unfinished plan cannot be taken back to the one-statement form: drop its update.
    op.execute(
        "DELETE FROM cost_update_queue WHERE update_id IN "
        "(SELECT id FROM cost_updates WHERE planned_at IS NULL)"
    )
    op.execute("DELETE FROM cost_updates WHERE planned_at IS NULL")
    op.drop_column("cost_updates", "plan_cursor_id")
    op.drop_column("cost_updates", "plan_cursor_at")
    op.drop_column("cost_updates", "planned_at")
