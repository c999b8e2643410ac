"""forwarding: outgoing postback templates per traffic source, the outbox and its attempts

Ingestion writes `forwards` in the transaction of the event it forwards; the forwarder claims
them per workspace, finding the workspaces in the `forwarding_workspaces` directory (a
reference table on Citus). Tables start empty, so nothing already stored is touched.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-05 16:32:31.704583
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.distribution import distribute

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forwarding_workspaces",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_forwarding_workspaces")),
        info={"distribution": "reference"},
    )
    op.create_table(
        "forward_templates",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("traffic_source_id", sa.BigInteger(), nullable=False),
        sa.Column("conversion_type_id", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column(
            "method",
            sa.Enum(
                "GET",
                "POST",
                name="forwardmethod",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="GET",
            nullable=False,
        ),
        sa.Column("statuses", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("payout_override", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("payout_share", sa.Numeric(precision=9, scale=4), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "payout_override IS NULL OR payout_share IS NULL",
            name=op.f("ck_forward_templates_one_payout_rule"),
        ),
        sa.CheckConstraint(
            "payout_share BETWEEN 0 AND 100", name=op.f("ck_forward_templates_payout_share")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "conversion_type_id"],
            ["conversion_types.workspace_id", "conversion_types.id"],
            name=op.f("fk_forward_templates_conversion_types"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "traffic_source_id"],
            ["traffic_sources.workspace_id", "traffic_sources.id"],
            name=op.f("fk_forward_templates_traffic_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_forward_templates")),
        sa.UniqueConstraint(
            "workspace_id",
            "traffic_source_id",
            "conversion_type_id",
            name=op.f("uq_forward_templates_workspace_id_traffic_source_id_conversion_type_id"),
        ),
    )
    op.create_table(
        "forwards",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("template_id", sa.BigInteger(), nullable=False),
        sa.Column("traffic_source_id", sa.BigInteger(), nullable=False),
        sa.Column("conversion_type_id", sa.BigInteger(), nullable=False),
        sa.Column("conversion_event_id", sa.BigInteger(), nullable=False),
        sa.Column("click_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("click_id", sa.Text(), nullable=False),
        sa.Column(
            "event_status",
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
        sa.Column("amount", sa.Numeric(precision=18, scale=6), server_default="0", nullable=False),
        sa.Column("txid", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "delivered",
                "dead",
                name="forwardstate",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.SmallInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id", "template_id"],
            ["forward_templates.workspace_id", "forward_templates.id"],
            name=op.f("fk_forwards_forward_templates"),
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_forwards")),
    )
    op.create_index(
        "ix_forwards_due",
        "forwards",
        ["workspace_id", "next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        op.f("ix_forwards_workspace_id_conversion_event_id"),
        "forwards",
        ["workspace_id", "conversion_event_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_forwards_workspace_id_created_at"),
        "forwards",
        ["workspace_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "forward_attempts",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("forward_id", sa.BigInteger(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column(
            "method",
            sa.Enum(
                "GET",
                "POST",
                name="forwardmethod",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id", "forward_id"],
            ["forwards.workspace_id", "forwards.id"],
            name=op.f("fk_forward_attempts_forwards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_forward_attempts")),
    )
    op.create_index(
        op.f("ix_forward_attempts_workspace_id_forward_id"),
        "forward_attempts",
        ["workspace_id", "forward_id"],
        unique=False,
    )
    distribute(
        op.get_bind(),
        ["forwarding_workspaces", "forward_templates", "forwards", "forward_attempts"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_forward_attempts_workspace_id_forward_id"), table_name="forward_attempts"
    )
    op.drop_table("forward_attempts")
    op.drop_index(op.f("ix_forwards_workspace_id_created_at"), table_name="forwards")
    op.drop_index(op.f("ix_forwards_workspace_id_conversion_event_id"), table_name="forwards")
    op.drop_index(
        "ix_forwards_due", table_name="forwards", postgresql_where=sa.text("state = 'pending'")
    )
    op.drop_table("forwards")
    op.drop_table("forward_templates")
    op.drop_table("forwarding_workspaces")
