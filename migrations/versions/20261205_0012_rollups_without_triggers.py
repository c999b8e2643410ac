"""rollups without triggers: writers record their changes in two signature tables

The statement triggers that kept the rollups (Citus refuses to distribute tables with
triggers) and their functions go, if this database has them; so do the ten pending twins they
appended to. Two append-only tables take their place, written by ingestion in the same
transaction as the rows they describe (see models.rollups). Every workspace's rollups are then
recounted from its raw rows, pending changes included.

Revision ID: 0012
Revises: 0013
Create Date: 2026-12-05 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

from models.distribution import distribute
from models.rollups import ROLLUPS, recount_sql

revision: str = "0012"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = (
    ("clicks", "rollups_insert", "rollups_clicks_insert"),
    ("clicks", "rollups_update", "rollups_clicks_update"),
    ("clicks", "rollups_delete", "rollups_clicks_delete"),
    ("conversion_events", "rollups_insert", "rollups_events_insert"),
    ("conversion_events", "rollups_update", "rollups_events_update"),
    ("conversion_events", "rollups_delete", "rollups_events_delete"),
)
ROLLUP_TABLES = [
    f"rollup_{name}_{kind}"
    for name in ("campaign_daily", "geo_daily", "full_daily", "campaign", "geo")
    for kind in ("clicks", "events")
]
SIGNATURE_TABLES = ("rollup_clicks_pending", "rollup_events_pending")


def _dimensions() -> list[sa.Column[object]]:
    return [
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("offer_id", sa.BigInteger(), nullable=True),
        sa.Column("traffic_source_id", sa.BigInteger(), nullable=True),
        sa.Column("country", sa.CHAR(length=2), nullable=True),
        sa.Column("device_type", sa.Text(), nullable=True),
    ]


def _recount_every_workspace() -> None:
    """What rebuild_rollups does for each workspace, with writers stopped for the migration."""
    bind = op.get_bind()
    op.execute("SET LOCAL statement_timeout = 0")
    for table in ROLLUP_TABLES:
        op.execute(f"DELETE FROM {table}")  # noqa: S608 - names from the constant above
    workspaces = bind.execute(text("SELECT id FROM workspaces ORDER BY id")).scalars().all()
    for workspace_id in workspaces:
        for rollup in ROLLUPS:
            for sql in recount_sql(rollup):
                bind.execute(text(sql), {"workspace_id": workspace_id})
    for table in ROLLUP_TABLES:
        op.execute(f"ANALYZE {table}")


def upgrade() -> None:
    for table, trigger, _ in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    for _, _, function in TRIGGERS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.create_table(
        "rollup_clicks_pending",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("slot", sa.DateTime(timezone=True), nullable=False),
        *_dimensions(),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("unique_clicks", sa.BigInteger(), nullable=False),
        sa.Column("bot_clicks", sa.BigInteger(), nullable=False),
        sa.Column("cost_micros", sa.Numeric(precision=38, scale=0), nullable=False),
    )
    op.create_table(
        "rollup_events_pending",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("click_slot", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_slot", sa.DateTime(timezone=True), nullable=False),
        *_dimensions(),
        sa.Column("type_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "approved",
                "pending",
                "declined",
                "other",
                name="conversionstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("amount_micros", sa.Numeric(precision=38, scale=0), nullable=False),
        sa.Column("cost_micros", sa.Numeric(precision=38, scale=0), nullable=False),
    )
    distribute(op.get_bind(), SIGNATURE_TABLES)
    for table in ROLLUP_TABLES:
        op.drop_table(f"{table}_pending")
    _recount_every_workspace()


def downgrade() -> None:
    # The pending twins of 0004, empty: the recount holds every change. Below 0012 nothing
    # keeps the rollups current any more (the older migrations create no triggers), and on
    # Citus the twins stay on the coordinator (undistributing is an operator's decision).
    for table in ROLLUP_TABLES:
        op.execute(f"CREATE TABLE {table}_pending (LIKE {table})")
    for table in SIGNATURE_TABLES:
        op.drop_table(table)
    _recount_every_workspace()
