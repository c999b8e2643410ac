"""added txids: every transaction id an add_amount event has summed

A network's retry of an earlier addition carried a txid other than the last one, so it was
added again. conversion_events.added_txids remembers them all. Events recorded before keep an
empty list; the last txid, which the code still compares, covers their last addition.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "conversion_events",
        sa.Column("added_txids", sa.ARRAY(sa.Text()), server_default="{}", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("conversion_events", "added_txids")
