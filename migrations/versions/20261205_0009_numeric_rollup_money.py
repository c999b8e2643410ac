"""numeric rollup money: rollup sums of cost and amount in numeric(38,0) millionths

One event may carry up to 10^12 of the workspace currency, 10^18 millionths; bigint ends at
9.2 x 10^18, so ten such events in one group made compaction fail for every workspace, and
the reports of theirs failed too. numeric(38,0) holds any realistic sum of them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 10:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLLUPS = ("campaign_daily", "geo_daily", "full_daily", "campaign", "geo")
# (table suffix, money columns)
MONEY = (("clicks", ("cost_micros",)), ("events", ("amount_micros", "cost_micros")))


def _retype(to: sa.types.TypeEngine[object]) -> None:
    for rollup in ROLLUPS:
        for suffix, columns in MONEY:
            for table in (f"rollup_{rollup}_{suffix}", f"rollup_{rollup}_{suffix}_pending"):
                for column in columns:
                    op.alter_column(table, column, type_=to)


def upgrade() -> None:
    _retype(sa.Numeric(38, 0))


def downgrade() -> None:
    # Fails, as it should, where a sum no longer fits.
    _retype(sa.BigInteger())
