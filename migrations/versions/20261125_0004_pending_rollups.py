"""Pending twins of the rollup tables; compaction folds them into the rollups.

Upserting into the rollup rows inside every writing transaction made transactions on a popular
campaign queue on the same rollup row until the previous one committed (postbacks fell from
about 500/s to under 200/s). Writers appended to a pending table per rollup table instead,
which takes no row locks, and compaction folded those rows into the rollups. (This revision
once installed the triggers that appended; 0012 replaces the twins with two tables the
ingestion writers fill, and a new database never has triggers.)

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING_TABLES = (
    "rollup_campaign_daily_clicks_pending",
    "rollup_campaign_daily_events_pending",
    "rollup_geo_daily_clicks_pending",
    "rollup_geo_daily_events_pending",
    "rollup_full_daily_clicks_pending",
    "rollup_full_daily_events_pending",
    "rollup_campaign_clicks_pending",
    "rollup_campaign_events_pending",
    "rollup_geo_clicks_pending",
    "rollup_geo_events_pending",
)

CREATE = (
    """
CREATE TABLE rollup_campaign_daily_clicks_pending (
    workspace_id BIGINT NOT NULL,
    timezone TEXT NOT NULL,
    day TIMESTAMP WITH TIME ZONE NOT NULL,
    campaign_id BIGINT NOT NULL,
    offer_id BIGINT,
    traffic_source_id BIGINT,
    clicks BIGINT NOT NULL,
    unique_clicks BIGINT NOT NULL,
    bot_clicks BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL
)
""",
    """
CREATE TABLE rollup_campaign_daily_events_pending (
    workspace_id BIGINT NOT NULL,
    timezone TEXT NOT NULL,
    attribution VARCHAR(32) NOT NULL,
    day TIMESTAMP WITH TIME ZONE NOT NULL,
    campaign_id BIGINT NOT NULL,
    offer_id BIGINT,
    traffic_source_id BIGINT,
    type_id BIGINT NOT NULL,
    status VARCHAR(32) NOT NULL,
    events BIGINT NOT NULL,
    amount_micros BIGINT NOT NULL,
    CONSTRAINT ck_rollup_campaign_daily_events_pending_attribution
        CHECK (attribution IN ('click', 'conversion')),
    CONSTRAINT ck_rollup_campaign_daily_events_pending_conversionstatus
        CHECK (status IN ('approved', 'pending', 'declined', 'other'))
)
""",
    """
CREATE TABLE rollup_geo_daily_clicks_pending (
    workspace_id BIGINT NOT NULL,
    timezone TEXT NOT NULL,
    day TIMESTAMP WITH TIME ZONE NOT NULL,
    country CHAR(2),
    device_type TEXT,
    clicks BIGINT NOT NULL,
    unique_clicks BIGINT NOT NULL,
    bot_clicks BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL
)
""",
    """
CREATE TABLE rollup_geo_daily_events_pending (
    workspace_id BIGINT NOT NULL,
    timezone TEXT NOT NULL,
    attribution VARCHAR(32) NOT NULL,
    day TIMESTAMP WITH TIME ZONE NOT NULL,
    country CHAR(2),
    device_type TEXT,
    type_id BIGINT NOT NULL,
    status VARCHAR(32) NOT NULL,
    events BIGINT NOT NULL,
    amount_micros BIGINT NOT NULL,
    CONSTRAINT ck_rollup_geo_daily_events_pending_attribution
        CHECK (attribution IN ('click', 'conversion')),
    CONSTRAINT ck_rollup_geo_daily_events_pending_conversionstatus
        CHECK (status IN ('approved', 'pending', 'declined', 'other'))
)
""",
    """
CREATE TABLE rollup_full_daily_clicks_pending (
    workspace_id BIGINT NOT NULL,
    timezone TEXT NOT NULL,
    day TIMESTAMP WITH TIME ZONE NOT NULL,
    campaign_id BIGINT NOT NULL,
    offer_id BIGINT,
    traffic_source_id BIGINT,
    country CHAR(2),
    device_type TEXT,
    clicks BIGINT NOT NULL,
    unique_clicks BIGINT NOT NULL,
    bot_clicks BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL
)
""",
    """
CREATE TABLE rollup_full_daily_events_pending (
    workspace_id BIGINT NOT NULL,
    timezone TEXT NOT NULL,
    attribution VARCHAR(32) NOT NULL,
    day TIMESTAMP WITH TIME ZONE NOT NULL,
    campaign_id BIGINT NOT NULL,
    offer_id BIGINT,
    traffic_source_id BIGINT,
    country CHAR(2),
    device_type TEXT,
    type_id BIGINT NOT NULL,
    status VARCHAR(32) NOT NULL,
    events BIGINT NOT NULL,
    amount_micros BIGINT NOT NULL,
    CONSTRAINT ck_rollup_full_daily_events_pending_attribution
        CHECK (attribution IN ('click', 'conversion')),
    CONSTRAINT ck_rollup_full_daily_events_pending_conversionstatus
        CHECK (status IN ('approved', 'pending', 'declined', 'other'))
)
""",
    """
CREATE TABLE rollup_campaign_clicks_pending (
    workspace_id BIGINT NOT NULL,
    hour TIMESTAMP WITH TIME ZONE NOT NULL,
    campaign_id BIGINT NOT NULL,
    offer_id BIGINT,
    traffic_source_id BIGINT,
    clicks BIGINT NOT NULL,
    unique_clicks BIGINT NOT NULL,
    bot_clicks BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL
)
""",
    """
CREATE TABLE rollup_campaign_events_pending (
    workspace_id BIGINT NOT NULL,
    attribution VARCHAR(32) NOT NULL,
    hour TIMESTAMP WITH TIME ZONE NOT NULL,
    campaign_id BIGINT NOT NULL,
    offer_id BIGINT,
    traffic_source_id BIGINT,
    type_id BIGINT NOT NULL,
    status VARCHAR(32) NOT NULL,
    events BIGINT NOT NULL,
    amount_micros BIGINT NOT NULL,
    CONSTRAINT ck_rollup_campaign_events_pending_attribution
        CHECK (attribution IN ('click', 'conversion')),
    CONSTRAINT ck_rollup_campaign_events_pending_conversionstatus
        CHECK (status IN ('approved', 'pending', 'declined', 'other'))
)
""",
    """
CREATE TABLE rollup_geo_clicks_pending (
    workspace_id BIGINT NOT NULL,
    hour TIMESTAMP WITH TIME ZONE NOT NULL,
    country CHAR(2),
    device_type TEXT,
    clicks BIGINT NOT NULL,
    unique_clicks BIGINT NOT NULL,
    bot_clicks BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL
)
""",
    """
CREATE TABLE rollup_geo_events_pending (
    workspace_id BIGINT NOT NULL,
    attribution VARCHAR(32) NOT NULL,
    hour TIMESTAMP WITH TIME ZONE NOT NULL,
    country CHAR(2),
    device_type TEXT,
    type_id BIGINT NOT NULL,
    status VARCHAR(32) NOT NULL,
    events BIGINT NOT NULL,
    amount_micros BIGINT NOT NULL,
    CONSTRAINT ck_rollup_geo_events_pending_attribution
        CHECK (attribution IN ('click', 'conversion')),
    CONSTRAINT ck_rollup_geo_events_pending_conversionstatus
        CHECK (status IN ('approved', 'pending', 'declined', 'other'))
)
""",
)


# (rollup table, key columns, measure columns): what downgrade folds back.
FOLD = (
    (
        "rollup_campaign_daily_clicks",
        ("workspace_id", "timezone", "day", "campaign_id", "offer_id", "traffic_source_id"),
        ("clicks", "unique_clicks", "bot_clicks", "cost_micros"),
    ),
    (
        "rollup_campaign_daily_events",
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
        ("events", "amount_micros"),
    ),
    (
        "rollup_geo_daily_clicks",
        ("workspace_id", "timezone", "day", "country", "device_type"),
        ("clicks", "unique_clicks", "bot_clicks", "cost_micros"),
    ),
    (
        "rollup_geo_daily_events",
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
        ("events", "amount_micros"),
    ),
    (
        "rollup_full_daily_clicks",
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
        ("clicks", "unique_clicks", "bot_clicks", "cost_micros"),
    ),
    (
        "rollup_full_daily_events",
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
        ("events", "amount_micros"),
    ),
    (
        "rollup_campaign_clicks",
        ("workspace_id", "hour", "campaign_id", "offer_id", "traffic_source_id"),
        ("clicks", "unique_clicks", "bot_clicks", "cost_micros"),
    ),
    (
        "rollup_campaign_events",
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
        ("events", "amount_micros"),
    ),
    (
        "rollup_geo_clicks",
        ("workspace_id", "hour", "country", "device_type"),
        ("clicks", "unique_clicks", "bot_clicks", "cost_micros"),
    ),
    (
        "rollup_geo_events",
        ("workspace_id", "attribution", "hour", "country", "device_type", "type_id", "status"),
        ("events", "amount_micros"),
    ),
)


def upgrade() -> None:
    for statement in CREATE:
        op.execute(statement)


def downgrade() -> None:
    # Writers wait: every pending row is folded before the twins go.
    op.execute("LOCK TABLE clicks, conversion_events IN SHARE ROW EXCLUSIVE MODE")
    for table, key, measures in FOLD:
        positions = ", ".join(str(i) for i in range(1, len(key) + 1))
        columns = ", ".join((*key, *measures))
        sums = ", ".join(f"sum({m})" for m in measures)
        updates = ", ".join(f"{m} = r.{m} + excluded.{m}" for m in measures)
        # Names from the constant FOLD above.
        fold = (
            f"WITH moved AS (DELETE FROM {table}_pending RETURNING *) "  # noqa: S608
            f"INSERT INTO {table} AS r ({columns}) SELECT {', '.join(key)}, {sums} FROM moved "
            f"GROUP BY {positions} ORDER BY {positions} "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
        )
        op.execute(fold)
        op.execute(f"DELETE FROM {table} WHERE {measures[0]} = 0")  # noqa: S608
    for table in PENDING_TABLES:
        op.drop_table(table)
