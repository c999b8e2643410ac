"""cost updates: plans made in chunks (a cursor, the time the plan was finished); the part of
a total spread so far in the request's currency (each click's part converted at its own time's
rate)

A cost update is no longer planned in the statement that records it (over several million
clicks that statement ran into the statement timeout): it is planned in chunks of a bounded
number of the campaign's clicks, each in a transaction of its own that stores its batches and
moves the cursor. Updates recorded before were planned then: `planned_at` is their creation.

A total in another currency is now spread in that currency and each click's part converted at
the rate valid at the click's time, so what was spread is kept in the request's currency
(`spread_amount`); for updates left unfinished by 0015 it is their converted spread at their
one rate, to the millionth.

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
    op.add_column(
        "cost_updates",
        sa.Column(
            "spread_amount",
            sa.Numeric(precision=38, scale=6),
            server_default="0",
            nullable=False,
        ),
    )
    op.execute(
        "UPDATE cost_updates SET planned_at = created_at, "
        "spread_amount = CASE WHEN rate = 1 THEN new_total ELSE round(new_total / rate, 6) END"
    )


def downgrade() -> None:
    # An unfinished plan cannot be taken back to the one-statement form: drop its update.
    op.execute(
        "DELETE FROM cost_update_queue WHERE update_id IN "
        "(SELECT id FROM cost_updates WHERE planned_at IS NULL)"
    )
    op.execute("DELETE FROM cost_updates WHERE planned_at IS NULL")
    op.drop_column("cost_updates", "spread_amount")
    op.drop_column("cost_updates", "plan_cursor_id")
    op.drop_column("cost_updates", "plan_cursor_at")
    op.drop_column("cost_updates", "planned_at")
