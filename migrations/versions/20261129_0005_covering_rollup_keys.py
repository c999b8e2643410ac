"""covering rollup keys: each rollup table's unique key also holds its measures

A report reads a workspace's rows of a day range from the unique key's index, then each row from
the table for its sums. With the sums in the index (INCLUDE) the index alone answers: for 30
days of rollup_campaign_daily_events (9,651 rows) the read went from 13 to 8 ms. The key columns
and names stay as they are, so code that upserts on them is unaffected.

Writes to the rollup tables (compaction, rebuilds) wait while the indexes are rebuilt: a few
seconds per million rollup rows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 20:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLICK_MEASURES = ("clicks", "unique_clicks", "bot_clicks", "cost_micros")
EVENT_MEASURES = ("events", "amount_micros")

# (table, unique constraint, key columns in index order, measures)
KEYS = (
    (
        "rollup_campaign_daily_clicks",
        "uq_rollup_campaign_daily_clicks_workspace_id_timezone_d_526b",
        ("workspace_id", "timezone", "day", "campaign_id", "offer_id", "traffic_source_id"),
        CLICK_MEASURES,
    ),
    (
        "rollup_campaign_daily_events",
        "uq_rollup_campaign_daily_events_workspace_id_timezone_a_8b46",
        (
            "workspace_id",
            "timezone",
            "attribution",
            "day",
            "campaign_id",
            "offer_id",
            "traffic_source_id",
            "type_id",
            "status",
        ),
        EVENT_MEASURES,
    ),
    (
        "rollup_geo_daily_clicks",
        "uq_rollup_geo_daily_clicks_workspace_id_timezone_day_co_f1d7",
        ("workspace_id", "timezone", "day", "country", "device_type"),
        CLICK_MEASURES,
    ),
    (
        "rollup_geo_daily_events",
        "uq_rollup_geo_daily_events_workspace_id_timezone_attrib_4517",
        (
            "workspace_id",
            "timezone",
            "attribution",
            "day",
            "country",
            "device_type",
            "type_id",
            "status",
        ),
        EVENT_MEASURES,
    ),
    (
        "rollup_full_daily_clicks",
        "uq_rollup_full_daily_clicks_workspace_id_timezone_day_c_0b55",
        (
            "workspace_id",
            "timezone",
            "day",
            "campaign_id",
            "offer_id",
            "traffic_source_id",
            "country",
            "device_type",
        ),
        CLICK_MEASURES,
    ),
    (
        "rollup_full_daily_events",
        "uq_rollup_full_daily_events_workspace_id_timezone_attri_aed4",
        (
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
        ),
        EVENT_MEASURES,
    ),
    (
        "rollup_campaign_clicks",
        "uq_rollup_campaign_clicks_workspace_id_hour_campaign_id_9383",
        ("workspace_id", "hour", "campaign_id", "offer_id", "traffic_source_id"),
        CLICK_MEASURES,
    ),
    (
        "rollup_campaign_events",
        "uq_rollup_campaign_events_workspace_id_attribution_hour_7362",
        (
            "workspace_id",
            "attribution",
            "hour",
            "campaign_id",
            "offer_id",
            "traffic_source_id",
            "type_id",
            "status",
        ),
        EVENT_MEASURES,
    ),
    (
        "rollup_geo_clicks",
        "uq_rollup_geo_clicks_workspace_id_hour_country_device_type",
        ("workspace_id", "hour", "country", "device_type"),
        CLICK_MEASURES,
    ),
    (
        "rollup_geo_events",
        "uq_rollup_geo_events_workspace_id_attribution_hour_coun_ca9c",
        ("workspace_id", "attribution", "hour", "country", "device_type", "type_id", "status"),
        EVENT_MEASURES,
    ),
)


def _replace_keys(*, covering: bool) -> None:
    # Written out: Alembic's create_unique_constraint knows only the key columns of the table.
    for table, name, key, measures in KEYS:
        include = f" INCLUDE ({', '.join(measures)})" if covering else ""
        op.execute(
            f"ALTER TABLE {table} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} "
            f"UNIQUE NULLS NOT DISTINCT ({', '.join(key)}){include}"
        )


def upgrade() -> None:
    _replace_keys(covering=True)


def downgrade() -> None:
    _replace_keys(covering=False)
