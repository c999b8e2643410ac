"""cost updates: a campaign's click costs set after the fact, planned in batches, recorded

`cost_updates` records each request and its outcome, `cost_update_batches` its plan (runs of
consecutive click keys, each applied in a transaction of its own), `cost_update_queue` (a
reference table) the updates with batches left, for workers of any workspace.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 00:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.distribution import distribute

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cost_update_queue",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_cost_update_queue")),
    )
    op.create_table(
        "cost_updates",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("api_key_id", sa.BigInteger(), nullable=True),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("traffic_source_id", sa.BigInteger(), nullable=True),
        sa.Column("country", sa.CHAR(length=2), nullable=True),
        sa.Column("sub_number", sa.Integer(), nullable=True),
        sa.Column("sub_value", sa.Text(), nullable=True),
        sa.Column(
            "mode",
            sa.Enum(
                "total",
                "per_click",
                name="costupdatemode",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("amount", sa.Numeric(precision=38, scale=6), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("rate", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("converted_amount", sa.Numeric(precision=38, scale=6), nullable=False),
        sa.Column("planned_clicks", sa.BigInteger(), nullable=False),
        sa.Column("clicks_touched", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "old_total", sa.Numeric(precision=38, scale=6), server_default="0", nullable=False
        ),
        sa.Column(
            "new_total", sa.Numeric(precision=38, scale=6), server_default="0", nullable=False
        ),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("batches_applied", sa.Integer(), server_default="0", nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("sub_number BETWEEN 1 AND 20", name=op.f("ck_cost_updates_sub_number")),
        sa.ForeignKeyConstraint(
            ["workspace_id", "campaign_id"],
            ["campaigns.workspace_id", "campaigns.id"],
            name=op.f("fk_cost_updates_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "traffic_source_id"],
            ["traffic_sources.workspace_id", "traffic_sources.id"],
            name=op.f("fk_cost_updates_traffic_sources"),
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_cost_updates")),
        sa.UniqueConstraint(
            "workspace_id", "request_id", name=op.f("uq_cost_updates_workspace_id_request_id")
        ),
    )
    op.create_table(
        "cost_update_batches",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("batch", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_id", sa.Text(), nullable=False),
        sa.Column("planned_through", sa.BigInteger(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clicks_touched", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "old_total", sa.Numeric(precision=38, scale=6), server_default="0", nullable=False
        ),
        sa.Column(
            "new_total", sa.Numeric(precision=38, scale=6), server_default="0", nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "update_id"],
            ["cost_updates.workspace_id", "cost_updates.id"],
            name=op.f("fk_cost_update_batches_cost_updates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "update_id", "batch", name=op.f("pk_cost_update_batches")
        ),
    )
    distribute(op.get_bind(), ["cost_update_queue", "cost_updates", "cost_update_batches"])


def downgrade() -> None:
    op.drop_table("cost_update_batches")
    op.drop_table("cost_updates")
    op.drop_table("cost_update_queue")
