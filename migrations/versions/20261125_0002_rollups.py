"""rollups: hourly click and event rollups

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:00:00.000000

This revision once installed statement triggers that kept the rollups; since 0012 their
writers do (Citus refuses tables with triggers), so a new database never has them and 0012
drops them from an old one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "rollup_campaign_clicks",
    "rollup_campaign_events",
    "rollup_geo_clicks",
    "rollup_geo_events",
    "rollup_full_clicks",
    "rollup_full_events",
)


def upgrade() -> None:
    op.create_table(
        "rollup_campaign_clicks",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("offer_id", sa.BigInteger(), nullable=True),
        sa.Column("traffic_source_id", sa.BigInteger(), nullable=True),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("unique_clicks", sa.BigInteger(), nullable=False),
        sa.Column("bot_clicks", sa.BigInteger(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint(
            "workspace_id",
            "hour",
            "campaign_id",
            "offer_id",
            "traffic_source_id",
            name=op.f("uq_rollup_campaign_clicks_workspace_id_hour_campaign_id_9383"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_table(
        "rollup_campaign_events",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "attribution",
            sa.Enum(
                "click",
                "conversion",
                name="attribution",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("offer_id", sa.BigInteger(), nullable=True),
        sa.Column("traffic_source_id", sa.BigInteger(), nullable=True),
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
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint(
            "workspace_id",
            "attribution",
            "hour",
            "campaign_id",
            "offer_id",
            "traffic_source_id",
            "type_id",
            "status",
            name=op.f("uq_rollup_campaign_events_workspace_id_attribution_hour_7362"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_table(
        "rollup_geo_clicks",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("country", sa.CHAR(length=2), nullable=True),
        sa.Column("device_type", sa.Text(), nullable=True),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("unique_clicks", sa.BigInteger(), nullable=False),
        sa.Column("bot_clicks", sa.BigInteger(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint(
            "workspace_id",
            "hour",
            "country",
            "device_type",
            name=op.f("uq_rollup_geo_clicks_workspace_id_hour_country_device_type"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_table(
        "rollup_geo_events",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "attribution",
            sa.Enum(
                "click",
                "conversion",
                name="attribution",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("country", sa.CHAR(length=2), nullable=True),
        sa.Column("device_type", sa.Text(), nullable=True),
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
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint(
            "workspace_id",
            "attribution",
            "hour",
            "country",
            "device_type",
            "type_id",
            "status",
            name=op.f("uq_rollup_geo_events_workspace_id_attribution_hour_coun_ca9c"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_table(
        "rollup_full_clicks",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("offer_id", sa.BigInteger(), nullable=True),
        sa.Column("traffic_source_id", sa.BigInteger(), nullable=True),
        sa.Column("country", sa.CHAR(length=2), nullable=True),
        sa.Column("device_type", sa.Text(), nullable=True),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("unique_clicks", sa.BigInteger(), nullable=False),
        sa.Column("bot_clicks", sa.BigInteger(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint(
            "workspace_id",
            "hour",
            "campaign_id",
            "offer_id",
            "traffic_source_id",
            "country",
            "device_type",
            name=op.f("uq_rollup_full_clicks_workspace_id_hour_campaign_id_off_5e18"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_table(
        "rollup_full_events",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "attribution",
            sa.Enum(
                "click",
                "conversion",
                name="attribution",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("offer_id", sa.BigInteger(), nullable=True),
        sa.Column("traffic_source_id", sa.BigInteger(), nullable=True),
        sa.Column("country", sa.CHAR(length=2), nullable=True),
        sa.Column("device_type", sa.Text(), nullable=True),
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
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint(
            "workspace_id",
            "attribution",
            "hour",
            "campaign_id",
            "offer_id",
            "traffic_source_id",
            "country",
            "device_type",
            "type_id",
            "status",
            name=op.f("uq_rollup_full_events_workspace_id_attribution_hour_cam_1902"),
            postgresql_nulls_not_distinct=True,
        ),
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
