"""daily rollups: by local day in the workspace's zone; the hourly full rollup goes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 18:00:00.000000

Adds the campaign_daily, geo_daily and full_daily rollups, keyed by the workspace's time zone
and the local day in it, and drops the hourly full rollup (about as many rows as clicks). The
new tables start empty: 0012 counts every workspace's rows into all rollups. The downgrade
refills the hourly full rollup from the raw rows.

This revision once replaced the rollup trigger functions; since 0012 the rollups' writers keep
them (Citus refuses tables with triggers), so a new database never has any.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_TABLES = (
    "rollup_campaign_daily_clicks",
    "rollup_campaign_daily_events",
    "rollup_geo_daily_clicks",
    "rollup_geo_daily_events",
    "rollup_full_daily_clicks",
    "rollup_full_daily_events",
)


# The hourly full rollup of the rows stored when downgrading.
FILL_FULL = (
    """
WITH delta AS (
    SELECT c.workspace_id, c.created_at, c.campaign_id, c.offer_id, c.traffic_source_id,
        c.country, c.device_type, c.is_unique, c.is_bot, c.cost, c.sign
    FROM (SELECT *, 1 AS sign FROM clicks) AS c
)
INSERT INTO rollup_full_clicks AS r (workspace_id, hour, campaign_id, offer_id,
    traffic_source_id, country, device_type, clicks, unique_clicks, bot_clicks, cost_micros)
SELECT workspace_id, date_trunc('hour', created_at, 'UTC'), campaign_id, offer_id,
    traffic_source_id, country, device_type, sum(sign), sum(sign * is_unique::int), sum(sign
    * is_bot::int), sum(sign * (cost * 1000000)::bigint)
FROM delta
GROUP BY 1, 2, 3, 4, 5, 6, 7
ORDER BY 1, 2, 3, 4, 5, 6, 7
ON CONFLICT (workspace_id, hour, campaign_id, offer_id, traffic_source_id, country,
    device_type)
DO UPDATE SET
    clicks = r.clicks + excluded.clicks,
    unique_clicks = r.unique_clicks + excluded.unique_clicks,
    bot_clicks = r.bot_clicks + excluded.bot_clicks,
    cost_micros = r.cost_micros + excluded.cost_micros;
""",
    """
WITH delta AS (
    SELECT e.workspace_id, a.attribution, a.at, c.campaign_id, c.offer_id,
        c.traffic_source_id, c.country, c.device_type, e.type_id, e.status, e.amount, e.sign
    FROM (SELECT *, 1 AS sign FROM conversion_events) AS e
    JOIN clicks AS c ON c.workspace_id = e.workspace_id
        AND c.created_at = e.click_created_at AND c.id = e.click_id
    CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion', e.created_at))
        AS a (attribution, at)
)
INSERT INTO rollup_full_events AS r (workspace_id, attribution, hour, campaign_id, offer_id,
    traffic_source_id, country, device_type, type_id, status, events, amount_micros)
SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), campaign_id, offer_id,
    traffic_source_id, country, device_type, type_id, status, sum(sign), sum(sign * (amount
    * 1000000)::bigint)
FROM delta
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
ON CONFLICT (workspace_id, attribution, hour, campaign_id, offer_id, traffic_source_id,
    country, device_type, type_id, status)
DO UPDATE SET
    events = r.events + excluded.events,
    amount_micros = r.amount_micros + excluded.amount_micros;
""",
)


def _pause_writers() -> None:
    op.execute("LOCK TABLE clicks, conversion_events IN SHARE ROW EXCLUSIVE MODE")
    op.execute("SET LOCAL statement_timeout = 0")


def upgrade() -> None:
    op.create_table(
        "rollup_campaign_daily_clicks",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("offer_id", sa.BigInteger(), nullable=True),
        sa.Column("traffic_source_id", sa.BigInteger(), nullable=True),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("unique_clicks", sa.BigInteger(), nullable=False),
        sa.Column("bot_clicks", sa.BigInteger(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint(
            "workspace_id",
            "timezone",
            "day",
            "campaign_id",
            "offer_id",
            "traffic_source_id",
            name=op.f("uq_rollup_campaign_daily_clicks_workspace_id_timezone_d_526b"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_table(
        "rollup_campaign_daily_events",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
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
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
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
            "timezone",
            "attribution",
            "day",
            "campaign_id",
            "offer_id",
            "traffic_source_id",
            "type_id",
            "status",
            name=op.f("uq_rollup_campaign_daily_events_workspace_id_timezone_a_8b46"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_table(
        "rollup_full_daily_clicks",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
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
            "timezone",
            "day",
            "campaign_id",
            "offer_id",
            "traffic_source_id",
            "country",
            "device_type",
            name=op.f("uq_rollup_full_daily_clicks_workspace_id_timezone_day_c_0b55"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_table(
        "rollup_full_daily_events",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
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
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
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
            "timezone",
            "attribution",
            "day",
            "campaign_id",
            "offer_id",
            "traffic_source_id",
            "country",
            "device_type",
            "type_id",
            "status",
            name=op.f("uq_rollup_full_daily_events_workspace_id_timezone_attri_aed4"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_table(
        "rollup_geo_daily_clicks",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("country", sa.CHAR(length=2), nullable=True),
        sa.Column("device_type", sa.Text(), nullable=True),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("unique_clicks", sa.BigInteger(), nullable=False),
        sa.Column("bot_clicks", sa.BigInteger(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint(
            "workspace_id",
            "timezone",
            "day",
            "country",
            "device_type",
            name=op.f("uq_rollup_geo_daily_clicks_workspace_id_timezone_day_co_f1d7"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_table(
        "rollup_geo_daily_events",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
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
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
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
            "timezone",
            "attribution",
            "day",
            "country",
            "device_type",
            "type_id",
            "status",
            name=op.f("uq_rollup_geo_daily_events_workspace_id_timezone_attrib_4517"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.drop_table("rollup_full_clicks")
    op.drop_table("rollup_full_events")


def downgrade() -> None:
    _pause_writers()
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
    for table in reversed(NEW_TABLES):
        op.drop_table(table)
    for sql in FILL_FULL:
        op.execute(sql)
