"""click fingerprints

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:31:34.068231
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "click_fingerprints",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(), nullable=False),
        sa.Column("last_click_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "campaign_id"],
            ["campaigns.workspace_id", "campaigns.id"],
            name=op.f("fk_click_fingerprints_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "campaign_id", "fingerprint", name=op.f("pk_click_fingerprints")
        ),
    )
    op.create_index(
        op.f("ix_click_fingerprints_last_click_at"),
        "click_fingerprints",
        ["last_click_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_click_fingerprints_last_click_at"), table_name="click_fingerprints")
    op.drop_table("click_fingerprints")
