"""event cost: CPA and RevShare campaigns' cost, carried by the conversion events

Clicks carry CPC and CPM cost. A CPA campaign pays its cost value for each event whose type
counts as a conversion, a RevShare campaign its cost value in percent of each event's revenue
(so at most 100): conversion_events.cost holds it, fixed when the event is recorded, and the
event rollups sum it as cost_micros beside the amount.

Existing events of CPA and RevShare campaigns get their cost from their campaign's current
terms; 0012 counts it into the rollups. (This revision once replaced the rollup trigger
functions too; a new database never has any since 0012.)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 21:30:00.000000
"""

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_covering = importlib.import_module("migrations.versions.20261129_0005_covering_rollup_keys")
EVENT_MEASURES = ("events", "amount_micros", "cost_micros")
# (table, unique constraint, key columns in index order) of the event rollups.
EVENT_KEYS = tuple(
    (table, name, key) for table, name, key, measures in _covering.KEYS if table.endswith("_events")
)


def _replace_keys(measures: Sequence[str]) -> None:
    # Written out: Alembic's create_unique_constraint knows only the key columns of the table.
    for table, name, key in EVENT_KEYS:
        op.execute(
            f"ALTER TABLE {table} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} "
            f"UNIQUE NULLS NOT DISTINCT ({', '.join(key)}) INCLUDE ({', '.join(measures)})"
        )


def _revshare_values_are_percents() -> None:
    """RevShare cost values had no effect before and were documented only as "a share": a
    value over 100 cannot be a percent, and guessing what it meant would misprice events."""
    wrong = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT workspace_id, id, name, cost_value FROM campaigns "
                "WHERE cost_model = 'revshare' AND cost_value > 100 ORDER BY 1, 2"
            )
        )
        .all()
    )
    if wrong:
        listed = "; ".join(f"workspace {w} campaign {i} {n!r}: {v}" for w, i, n, v in wrong)
        raise RuntimeError(
            "RevShare cost values are now a percent of revenue (0 to 100), and these are not: "
            f"{listed}. Set them to the percent meant, then upgrade again."
        )


def upgrade() -> None:
    _revshare_values_are_percents()
    op.add_column(
        "conversion_events",
        sa.Column("cost", sa.Numeric(18, 6), server_default="0", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_campaigns_revshare_percent"),
        "campaigns",
        "cost_model <> 'revshare' OR cost_value <= 100",
    )
    for table, _, _ in EVENT_KEYS:
        for name in (table, f"{table}_pending"):
            op.add_column(
                name, sa.Column("cost_micros", sa.BigInteger(), server_default="0", nullable=False)
            )
            op.alter_column(name, "cost_micros", server_default=None)
    _replace_keys(EVENT_MEASURES)
    op.execute(
        """
        UPDATE conversion_events AS e
        SET cost = CASE c.cost_model
            WHEN 'cpa' THEN c.cost_value
            ELSE round(e.amount * c.cost_value / 100, 6)
        END
        FROM clicks AS k, campaigns AS c, conversion_types AS t
        WHERE k.workspace_id = e.workspace_id AND k.created_at = e.click_created_at
          AND k.id = e.click_id
          AND c.workspace_id = k.workspace_id AND c.id = k.campaign_id
          AND t.workspace_id = e.workspace_id AND t.id = e.type_id
          AND ((c.cost_model = 'cpa' AND t.counts_as_conversion)
               OR (c.cost_model = 'revshare' AND t.counts_in_revenue))
        """
    )


def downgrade() -> None:
    _replace_keys(EVENT_MEASURES[:-1])
    for table, _, _ in EVENT_KEYS:
        for name in (table, f"{table}_pending"):
            op.drop_column(name, "cost_micros")
    op.drop_constraint(op.f("ck_campaigns_revshare_percent"), "campaigns", type_="check")
    op.drop_column("conversion_events", "cost")
