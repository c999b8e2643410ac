"""Rollup triggers append to pending twins; compaction folds them into the rollups.

Upserting into the rollup rows inside every writing transaction made transactions on a popular
campaign queue on the same rollup row until the previous one committed (postbacks fell from
about 500/s to under 200/s). Now the triggers only INSERT into a pending table per rollup table,
which takes no row locks, and models.rollups.compact_rollups folds those rows into the rollups.

Revision ID: 0004
Revises: 0003
"""

import importlib
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

FUNCTIONS = {
    "rollups_clicks_insert": """
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1919904876, (workspace_id % 2147483648)::integer)
    FROM (SELECT DISTINCT workspace_id FROM new_rows ORDER BY 1) AS w;

    WITH delta AS (
        SELECT c.workspace_id, w.timezone, c.created_at, c.campaign_id, c.offer_id,
            c.traffic_source_id, c.is_unique, c.is_bot, c.cost, c.sign
        FROM (SELECT *, 1 AS sign FROM new_rows) AS c
        JOIN workspaces AS w ON w.id = c.workspace_id
    )
    INSERT INTO rollup_campaign_daily_clicks_pending (workspace_id, timezone, day,
        campaign_id, offer_id, traffic_source_id, clicks, unique_clicks, bot_clicks,
        cost_micros)
    SELECT workspace_id, timezone, date_trunc('day', created_at, timezone), campaign_id,
        offer_id, traffic_source_id, sum(sign), sum(sign * is_unique::int), sum(sign *
        is_bot::int), sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6;

    WITH delta AS (
        SELECT c.workspace_id, w.timezone, c.created_at, c.country, c.device_type,
            c.is_unique, c.is_bot, c.cost, c.sign
        FROM (SELECT *, 1 AS sign FROM new_rows) AS c
        JOIN workspaces AS w ON w.id = c.workspace_id
    )
    INSERT INTO rollup_geo_daily_clicks_pending (workspace_id, timezone, day, country,
        device_type, clicks, unique_clicks, bot_clicks, cost_micros)
    SELECT workspace_id, timezone, date_trunc('day', created_at, timezone), country,
        device_type, sum(sign), sum(sign * is_unique::int), sum(sign * is_bot::int),
        sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5;

    WITH delta AS (
        SELECT c.workspace_id, w.timezone, c.created_at, c.campaign_id, c.offer_id,
            c.traffic_source_id, c.country, c.device_type, c.is_unique, c.is_bot, c.cost,
            c.sign
        FROM (SELECT *, 1 AS sign FROM new_rows) AS c
        JOIN workspaces AS w ON w.id = c.workspace_id
    )
    INSERT INTO rollup_full_daily_clicks_pending (workspace_id, timezone, day, campaign_id,
        offer_id, traffic_source_id, country, device_type, clicks, unique_clicks,
        bot_clicks, cost_micros)
    SELECT workspace_id, timezone, date_trunc('day', created_at, timezone), campaign_id,
        offer_id, traffic_source_id, country, device_type, sum(sign), sum(sign *
        is_unique::int), sum(sign * is_bot::int), sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

    WITH delta AS (
        SELECT c.workspace_id, c.created_at, c.campaign_id, c.offer_id, c.traffic_source_id,
            c.is_unique, c.is_bot, c.cost, c.sign
        FROM (SELECT *, 1 AS sign FROM new_rows) AS c
    )
    INSERT INTO rollup_campaign_clicks_pending (workspace_id, hour, campaign_id, offer_id,
        traffic_source_id, clicks, unique_clicks, bot_clicks, cost_micros)
    SELECT workspace_id, date_trunc('hour', created_at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, sum(sign), sum(sign * is_unique::int), sum(sign * is_bot::int),
        sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5;

    WITH delta AS (
        SELECT c.workspace_id, c.created_at, c.country, c.device_type, c.is_unique,
            c.is_bot, c.cost, c.sign
        FROM (SELECT *, 1 AS sign FROM new_rows) AS c
    )
    INSERT INTO rollup_geo_clicks_pending (workspace_id, hour, country, device_type, clicks,
        unique_clicks, bot_clicks, cost_micros)
    SELECT workspace_id, date_trunc('hour', created_at, 'UTC'), country, device_type,
        sum(sign), sum(sign * is_unique::int), sum(sign * is_bot::int), sum(sign * (cost *
        1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4;

    RETURN NULL;
END
""",
    "rollups_clicks_update": """
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1919904876, (workspace_id % 2147483648)::integer)
    FROM (SELECT workspace_id FROM new_rows UNION SELECT workspace_id FROM old_rows ORDER BY
        1) AS w;

    WITH delta AS (
        SELECT c.workspace_id, w.timezone, c.created_at, c.campaign_id, c.offer_id,
            c.traffic_source_id, c.is_unique, c.is_bot, c.cost, c.sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS c
        JOIN workspaces AS w ON w.id = c.workspace_id
    )
    INSERT INTO rollup_campaign_daily_clicks_pending (workspace_id, timezone, day,
        campaign_id, offer_id, traffic_source_id, clicks, unique_clicks, bot_clicks,
        cost_micros)
    SELECT workspace_id, timezone, date_trunc('day', created_at, timezone), campaign_id,
        offer_id, traffic_source_id, sum(sign), sum(sign * is_unique::int), sum(sign *
        is_bot::int), sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(sign) <> 0 OR sum(sign * is_unique::int) <> 0 OR sum(sign * is_bot::int) <> 0
        OR sum(sign * (cost * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT c.workspace_id, w.timezone, c.created_at, c.country, c.device_type,
            c.is_unique, c.is_bot, c.cost, c.sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS c
        JOIN workspaces AS w ON w.id = c.workspace_id
    )
    INSERT INTO rollup_geo_daily_clicks_pending (workspace_id, timezone, day, country,
        device_type, clicks, unique_clicks, bot_clicks, cost_micros)
    SELECT workspace_id, timezone, date_trunc('day', created_at, timezone), country,
        device_type, sum(sign), sum(sign * is_unique::int), sum(sign * is_bot::int),
        sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5
    HAVING sum(sign) <> 0 OR sum(sign * is_unique::int) <> 0 OR sum(sign * is_bot::int) <> 0
        OR sum(sign * (cost * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT c.workspace_id, w.timezone, c.created_at, c.campaign_id, c.offer_id,
            c.traffic_source_id, c.country, c.device_type, c.is_unique, c.is_bot, c.cost,
            c.sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS c
        JOIN workspaces AS w ON w.id = c.workspace_id
    )
    INSERT INTO rollup_full_daily_clicks_pending (workspace_id, timezone, day, campaign_id,
        offer_id, traffic_source_id, country, device_type, clicks, unique_clicks,
        bot_clicks, cost_micros)
    SELECT workspace_id, timezone, date_trunc('day', created_at, timezone), campaign_id,
        offer_id, traffic_source_id, country, device_type, sum(sign), sum(sign *
        is_unique::int), sum(sign * is_bot::int), sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    HAVING sum(sign) <> 0 OR sum(sign * is_unique::int) <> 0 OR sum(sign * is_bot::int) <> 0
        OR sum(sign * (cost * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT c.workspace_id, c.created_at, c.campaign_id, c.offer_id, c.traffic_source_id,
            c.is_unique, c.is_bot, c.cost, c.sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS c
    )
    INSERT INTO rollup_campaign_clicks_pending (workspace_id, hour, campaign_id, offer_id,
        traffic_source_id, clicks, unique_clicks, bot_clicks, cost_micros)
    SELECT workspace_id, date_trunc('hour', created_at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, sum(sign), sum(sign * is_unique::int), sum(sign * is_bot::int),
        sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5
    HAVING sum(sign) <> 0 OR sum(sign * is_unique::int) <> 0 OR sum(sign * is_bot::int) <> 0
        OR sum(sign * (cost * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT c.workspace_id, c.created_at, c.country, c.device_type, c.is_unique,
            c.is_bot, c.cost, c.sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS c
    )
    INSERT INTO rollup_geo_clicks_pending (workspace_id, hour, country, device_type, clicks,
        unique_clicks, bot_clicks, cost_micros)
    SELECT workspace_id, date_trunc('hour', created_at, 'UTC'), country, device_type,
        sum(sign), sum(sign * is_unique::int), sum(sign * is_bot::int), sum(sign * (cost *
        1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4
    HAVING sum(sign) <> 0 OR sum(sign * is_unique::int) <> 0 OR sum(sign * is_bot::int) <> 0
        OR sum(sign * (cost * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, d.campaign_id, d.offer_id,
            d.traffic_source_id, e.type_id, e.status, e.amount, d.sign
        FROM old_rows AS o
        JOIN new_rows AS n ON n.workspace_id = o.workspace_id
            AND n.created_at = o.created_at AND n.id = o.id
        JOIN conversion_events AS e ON e.workspace_id = o.workspace_id
            AND e.click_created_at = o.created_at AND e.click_id = o.id
        JOIN workspaces AS w ON w.id = o.workspace_id
        CROSS JOIN LATERAL (VALUES (-1, o.campaign_id, o.offer_id, o.traffic_source_id), (1,
            n.campaign_id, n.offer_id, n.traffic_source_id))
            AS d (sign, campaign_id, offer_id, traffic_source_id)
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
        WHERE (o.campaign_id, o.offer_id, o.traffic_source_id) IS DISTINCT FROM
            (n.campaign_id, n.offer_id, n.traffic_source_id)
    )
    INSERT INTO rollup_campaign_daily_events_pending (workspace_id, timezone, attribution,
        day, campaign_id, offer_id, traffic_source_id, type_id, status, events,
        amount_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone),
        campaign_id, offer_id, traffic_source_id, type_id, status, sum(sign), sum(sign *
        (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, d.country, d.device_type,
            e.type_id, e.status, e.amount, d.sign
        FROM old_rows AS o
        JOIN new_rows AS n ON n.workspace_id = o.workspace_id
            AND n.created_at = o.created_at AND n.id = o.id
        JOIN conversion_events AS e ON e.workspace_id = o.workspace_id
            AND e.click_created_at = o.created_at AND e.click_id = o.id
        JOIN workspaces AS w ON w.id = o.workspace_id
        CROSS JOIN LATERAL (VALUES (-1, o.country, o.device_type), (1, n.country,
            n.device_type))
            AS d (sign, country, device_type)
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
        WHERE (o.country, o.device_type) IS DISTINCT FROM (n.country, n.device_type)
    )
    INSERT INTO rollup_geo_daily_events_pending (workspace_id, timezone, attribution, day,
        country, device_type, type_id, status, events, amount_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone), country,
        device_type, type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, d.campaign_id, d.offer_id,
            d.traffic_source_id, d.country, d.device_type, e.type_id, e.status, e.amount,
            d.sign
        FROM old_rows AS o
        JOIN new_rows AS n ON n.workspace_id = o.workspace_id
            AND n.created_at = o.created_at AND n.id = o.id
        JOIN conversion_events AS e ON e.workspace_id = o.workspace_id
            AND e.click_created_at = o.created_at AND e.click_id = o.id
        JOIN workspaces AS w ON w.id = o.workspace_id
        CROSS JOIN LATERAL (VALUES (-1, o.campaign_id, o.offer_id, o.traffic_source_id,
            o.country, o.device_type), (1, n.campaign_id, n.offer_id, n.traffic_source_id,
            n.country, n.device_type))
            AS d (sign, campaign_id, offer_id, traffic_source_id, country, device_type)
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
        WHERE (o.campaign_id, o.offer_id, o.traffic_source_id, o.country, o.device_type) IS
            DISTINCT FROM (n.campaign_id, n.offer_id, n.traffic_source_id, n.country,
            n.device_type)
    )
    INSERT INTO rollup_full_daily_events_pending (workspace_id, timezone, attribution, day,
        campaign_id, offer_id, traffic_source_id, country, device_type, type_id, status,
        events, amount_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone),
        campaign_id, offer_id, traffic_source_id, country, device_type, type_id, status,
        sum(sign), sum(sign * (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, d.campaign_id, d.offer_id,
            d.traffic_source_id, e.type_id, e.status, e.amount, d.sign
        FROM old_rows AS o
        JOIN new_rows AS n ON n.workspace_id = o.workspace_id
            AND n.created_at = o.created_at AND n.id = o.id
        JOIN conversion_events AS e ON e.workspace_id = o.workspace_id
            AND e.click_created_at = o.created_at AND e.click_id = o.id
        CROSS JOIN LATERAL (VALUES (-1, o.campaign_id, o.offer_id, o.traffic_source_id), (1,
            n.campaign_id, n.offer_id, n.traffic_source_id))
            AS d (sign, campaign_id, offer_id, traffic_source_id)
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
        WHERE (o.campaign_id, o.offer_id, o.traffic_source_id) IS DISTINCT FROM
            (n.campaign_id, n.offer_id, n.traffic_source_id)
    )
    INSERT INTO rollup_campaign_events_pending (workspace_id, attribution, hour,
        campaign_id, offer_id, traffic_source_id, type_id, status, events, amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, type_id, status, sum(sign), sum(sign * (amount *
        1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, d.country, d.device_type, e.type_id,
            e.status, e.amount, d.sign
        FROM old_rows AS o
        JOIN new_rows AS n ON n.workspace_id = o.workspace_id
            AND n.created_at = o.created_at AND n.id = o.id
        JOIN conversion_events AS e ON e.workspace_id = o.workspace_id
            AND e.click_created_at = o.created_at AND e.click_id = o.id
        CROSS JOIN LATERAL (VALUES (-1, o.country, o.device_type), (1, n.country,
            n.device_type))
            AS d (sign, country, device_type)
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
        WHERE (o.country, o.device_type) IS DISTINCT FROM (n.country, n.device_type)
    )
    INSERT INTO rollup_geo_events_pending (workspace_id, attribution, hour, country,
        device_type, type_id, status, events, amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), country, device_type,
        type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0;

    RETURN NULL;
END
""",
    "rollups_clicks_delete": """
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1919904876, (workspace_id % 2147483648)::integer)
    FROM (SELECT DISTINCT workspace_id FROM old_rows ORDER BY 1) AS w;

    WITH delta AS (
        SELECT c.workspace_id, w.timezone, c.created_at, c.campaign_id, c.offer_id,
            c.traffic_source_id, c.is_unique, c.is_bot, c.cost, c.sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS c
        JOIN workspaces AS w ON w.id = c.workspace_id
    )
    INSERT INTO rollup_campaign_daily_clicks_pending (workspace_id, timezone, day,
        campaign_id, offer_id, traffic_source_id, clicks, unique_clicks, bot_clicks,
        cost_micros)
    SELECT workspace_id, timezone, date_trunc('day', created_at, timezone), campaign_id,
        offer_id, traffic_source_id, sum(sign), sum(sign * is_unique::int), sum(sign *
        is_bot::int), sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6;

    WITH delta AS (
        SELECT c.workspace_id, w.timezone, c.created_at, c.country, c.device_type,
            c.is_unique, c.is_bot, c.cost, c.sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS c
        JOIN workspaces AS w ON w.id = c.workspace_id
    )
    INSERT INTO rollup_geo_daily_clicks_pending (workspace_id, timezone, day, country,
        device_type, clicks, unique_clicks, bot_clicks, cost_micros)
    SELECT workspace_id, timezone, date_trunc('day', created_at, timezone), country,
        device_type, sum(sign), sum(sign * is_unique::int), sum(sign * is_bot::int),
        sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5;

    WITH delta AS (
        SELECT c.workspace_id, w.timezone, c.created_at, c.campaign_id, c.offer_id,
            c.traffic_source_id, c.country, c.device_type, c.is_unique, c.is_bot, c.cost,
            c.sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS c
        JOIN workspaces AS w ON w.id = c.workspace_id
    )
    INSERT INTO rollup_full_daily_clicks_pending (workspace_id, timezone, day, campaign_id,
        offer_id, traffic_source_id, country, device_type, clicks, unique_clicks,
        bot_clicks, cost_micros)
    SELECT workspace_id, timezone, date_trunc('day', created_at, timezone), campaign_id,
        offer_id, traffic_source_id, country, device_type, sum(sign), sum(sign *
        is_unique::int), sum(sign * is_bot::int), sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

    WITH delta AS (
        SELECT c.workspace_id, c.created_at, c.campaign_id, c.offer_id, c.traffic_source_id,
            c.is_unique, c.is_bot, c.cost, c.sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS c
    )
    INSERT INTO rollup_campaign_clicks_pending (workspace_id, hour, campaign_id, offer_id,
        traffic_source_id, clicks, unique_clicks, bot_clicks, cost_micros)
    SELECT workspace_id, date_trunc('hour', created_at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, sum(sign), sum(sign * is_unique::int), sum(sign * is_bot::int),
        sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5;

    WITH delta AS (
        SELECT c.workspace_id, c.created_at, c.country, c.device_type, c.is_unique,
            c.is_bot, c.cost, c.sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS c
    )
    INSERT INTO rollup_geo_clicks_pending (workspace_id, hour, country, device_type, clicks,
        unique_clicks, bot_clicks, cost_micros)
    SELECT workspace_id, date_trunc('hour', created_at, 'UTC'), country, device_type,
        sum(sign), sum(sign * is_unique::int), sum(sign * is_bot::int), sum(sign * (cost *
        1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4;

    RETURN NULL;
END
""",
    "rollups_events_insert": """
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1919904876, (workspace_id % 2147483648)::integer)
    FROM (SELECT DISTINCT workspace_id FROM new_rows ORDER BY 1) AS w;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, e.type_id, e.status, e.amount, e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows) AS e
        CROSS JOIN LATERAL (
            SELECT campaign_id, offer_id, traffic_source_id FROM clicks AS k
            WHERE k.workspace_id = e.workspace_id
                AND k.created_at = e.click_created_at AND k.id = e.click_id
            LIMIT 1
        ) AS c
        JOIN workspaces AS w ON w.id = e.workspace_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_campaign_daily_events_pending (workspace_id, timezone, attribution,
        day, campaign_id, offer_id, traffic_source_id, type_id, status, events,
        amount_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone),
        campaign_id, offer_id, traffic_source_id, type_id, status, sum(sign), sum(sign *
        (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, c.country, c.device_type,
            e.type_id, e.status, e.amount, e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows) AS e
        CROSS JOIN LATERAL (
            SELECT country, device_type FROM clicks AS k
            WHERE k.workspace_id = e.workspace_id
                AND k.created_at = e.click_created_at AND k.id = e.click_id
            LIMIT 1
        ) AS c
        JOIN workspaces AS w ON w.id = e.workspace_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_geo_daily_events_pending (workspace_id, timezone, attribution, day,
        country, device_type, type_id, status, events, amount_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone), country,
        device_type, type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, c.country, c.device_type, e.type_id, e.status, e.amount,
            e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows) AS e
        CROSS JOIN LATERAL (
            SELECT campaign_id, offer_id, traffic_source_id, country, device_type FROM
                clicks AS k
            WHERE k.workspace_id = e.workspace_id
                AND k.created_at = e.click_created_at AND k.id = e.click_id
            LIMIT 1
        ) AS c
        JOIN workspaces AS w ON w.id = e.workspace_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_full_daily_events_pending (workspace_id, timezone, attribution, day,
        campaign_id, offer_id, traffic_source_id, country, device_type, type_id, status,
        events, amount_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone),
        campaign_id, offer_id, traffic_source_id, country, device_type, type_id, status,
        sum(sign), sum(sign * (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, e.type_id, e.status, e.amount, e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows) AS e
        CROSS JOIN LATERAL (
            SELECT campaign_id, offer_id, traffic_source_id FROM clicks AS k
            WHERE k.workspace_id = e.workspace_id
                AND k.created_at = e.click_created_at AND k.id = e.click_id
            LIMIT 1
        ) AS c
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_campaign_events_pending (workspace_id, attribution, hour,
        campaign_id, offer_id, traffic_source_id, type_id, status, events, amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, type_id, status, sum(sign), sum(sign * (amount *
        1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.country, c.device_type, e.type_id,
            e.status, e.amount, e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows) AS e
        CROSS JOIN LATERAL (
            SELECT country, device_type FROM clicks AS k
            WHERE k.workspace_id = e.workspace_id
                AND k.created_at = e.click_created_at AND k.id = e.click_id
            LIMIT 1
        ) AS c
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_geo_events_pending (workspace_id, attribution, hour, country,
        device_type, type_id, status, events, amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), country, device_type,
        type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7;

    RETURN NULL;
END
""",
    "rollups_events_update": """
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1919904876, (workspace_id % 2147483648)::integer)
    FROM (SELECT workspace_id FROM new_rows UNION SELECT workspace_id FROM old_rows ORDER BY
        1) AS w;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, e.type_id, e.status, e.amount, e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS e
        CROSS JOIN LATERAL (
            SELECT campaign_id, offer_id, traffic_source_id FROM clicks AS k
            WHERE k.workspace_id = e.workspace_id
                AND k.created_at = e.click_created_at AND k.id = e.click_id
            LIMIT 1
        ) AS c
        JOIN workspaces AS w ON w.id = e.workspace_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_campaign_daily_events_pending (workspace_id, timezone, attribution,
        day, campaign_id, offer_id, traffic_source_id, type_id, status, events,
        amount_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone),
        campaign_id, offer_id, traffic_source_id, type_id, status, sum(sign), sum(sign *
        (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, c.country, c.device_type,
            e.type_id, e.status, e.amount, e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS e
        CROSS JOIN LATERAL (
            SELECT country, device_type FROM clicks AS k
            WHERE k.workspace_id = e.workspace_id
                AND k.created_at = e.click_created_at AND k.id = e.click_id
            LIMIT 1
        ) AS c
        JOIN workspaces AS w ON w.id = e.workspace_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_geo_daily_events_pending (workspace_id, timezone, attribution, day,
        country, device_type, type_id, status, events, amount_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone), country,
        device_type, type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, c.country, c.device_type, e.type_id, e.status, e.amount,
            e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS e
        CROSS JOIN LATERAL (
            SELECT campaign_id, offer_id, traffic_source_id, country, device_type FROM
                clicks AS k
            WHERE k.workspace_id = e.workspace_id
                AND k.created_at = e.click_created_at AND k.id = e.click_id
            LIMIT 1
        ) AS c
        JOIN workspaces AS w ON w.id = e.workspace_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_full_daily_events_pending (workspace_id, timezone, attribution, day,
        campaign_id, offer_id, traffic_source_id, country, device_type, type_id, status,
        events, amount_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone),
        campaign_id, offer_id, traffic_source_id, country, device_type, type_id, status,
        sum(sign), sum(sign * (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, e.type_id, e.status, e.amount, e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS e
        CROSS JOIN LATERAL (
            SELECT campaign_id, offer_id, traffic_source_id FROM clicks AS k
            WHERE k.workspace_id = e.workspace_id
                AND k.created_at = e.click_created_at AND k.id = e.click_id
            LIMIT 1
        ) AS c
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_campaign_events_pending (workspace_id, attribution, hour,
        campaign_id, offer_id, traffic_source_id, type_id, status, events, amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, type_id, status, sum(sign), sum(sign * (amount *
        1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.country, c.device_type, e.type_id,
            e.status, e.amount, e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS e
        CROSS JOIN LATERAL (
            SELECT country, device_type FROM clicks AS k
            WHERE k.workspace_id = e.workspace_id
                AND k.created_at = e.click_created_at AND k.id = e.click_id
            LIMIT 1
        ) AS c
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_geo_events_pending (workspace_id, attribution, hour, country,
        device_type, type_id, status, events, amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), country, device_type,
        type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0;

    RETURN NULL;
END
""",
    "rollups_events_delete": """
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1919904876, (workspace_id % 2147483648)::integer)
    FROM (SELECT DISTINCT workspace_id FROM old_rows ORDER BY 1) AS w;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, e.type_id, e.status, e.amount, e.sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS e
        CROSS JOIN LATERAL (
            SELECT campaign_id, offer_id, traffic_source_id FROM clicks AS k
            WHERE k.workspace_id = e.workspace_id
                AND k.created_at = e.click_created_at AND k.id = e.click_id
            LIMIT 1
        ) AS c
        JOIN workspaces AS w ON w.id = e.workspace_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_campaign_daily_events_pending (workspace_id, timezone, attribution,
        day, campaign_id, offer_id, traffic_source_id, type_id, status, events,
        amount_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone),
        campaign_id, offer_id, traffic_source_id, type_id, status, sum(sign), sum(sign *
        (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, c.country, c.device_type,
            e.type_id, e.status, e.amount, e.sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS e
        CROSS JOIN LATERAL (
            SELECT country, device_type FROM clicks AS k
            WHERE k.workspace_id = e.workspace_id
                AND k.created_at = e.click_created_at AND k.id = e.click_id
            LIMIT 1
        ) AS c
        JOIN workspaces AS w ON w.id = e.workspace_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_geo_daily_events_pending (workspace_id, timezone, attribution, day,
        country, device_type, type_id, status, events, amount_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone), country,
        device_type, type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, c.country, c.device_type, e.type_id, e.status, e.amount,
            e.sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS e
        CROSS JOIN LATERAL (
            SELECT campaign_id, offer_id, traffic_source_id, country, device_type FROM
                clicks AS k
            WHERE k.workspace_id = e.workspace_id
                AND k.created_at = e.click_created_at AND k.id = e.click_id
            LIMIT 1
        ) AS c
        JOIN workspaces AS w ON w.id = e.workspace_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_full_daily_events_pending (workspace_id, timezone, attribution, day,
        campaign_id, offer_id, traffic_source_id, country, device_type, type_id, status,
        events, amount_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone),
        campaign_id, offer_id, traffic_source_id, country, device_type, type_id, status,
        sum(sign), sum(sign * (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, e.type_id, e.status, e.amount, e.sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS e
        CROSS JOIN LATERAL (
            SELECT campaign_id, offer_id, traffic_source_id FROM clicks AS k
            WHERE k.workspace_id = e.workspace_id
                AND k.created_at = e.click_created_at AND k.id = e.click_id
            LIMIT 1
        ) AS c
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_campaign_events_pending (workspace_id, attribution, hour,
        campaign_id, offer_id, traffic_source_id, type_id, status, events, amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, type_id, status, sum(sign), sum(sign * (amount *
        1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.country, c.device_type, e.type_id,
            e.status, e.amount, e.sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS e
        CROSS JOIN LATERAL (
            SELECT country, device_type FROM clicks AS k
            WHERE k.workspace_id = e.workspace_id
                AND k.created_at = e.click_created_at AND k.id = e.click_id
            LIMIT 1
        ) AS c
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_geo_events_pending (workspace_id, attribution, hour, country,
        device_type, type_id, status, events, amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), country, device_type,
        type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7;

    RETURN NULL;
END
""",
}

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


def _replace_functions(functions: dict[str, str]) -> None:
    for name, body in functions.items():
        op.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$"
        )


def upgrade() -> None:
    for statement in CREATE:
        op.execute(statement)
    _replace_functions(FUNCTIONS)


def downgrade() -> None:
    # Writers wait: every pending row is folded before the upserting triggers come back.
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
    previous = importlib.import_module("migrations.versions.20261125_0003_daily_rollups")
    _replace_functions(previous.FUNCTIONS)
    for table in PENDING_TABLES:
        op.drop_table(table)
