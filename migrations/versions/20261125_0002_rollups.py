"""rollups: hourly click and event rollups, kept current by triggers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:00:00.000000

The trigger functions are written out as models.rollups.trigger_functions() generated them for
this revision; a test checks that the migrated database runs exactly that SQL.
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

# (table, event, transition tables, function)
TRIGGERS = (
    ("clicks", "INSERT", "NEW TABLE AS new_rows", "rollups_clicks_insert"),
    ("clicks", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows", "rollups_clicks_update"),
    ("clicks", "DELETE", "OLD TABLE AS old_rows", "rollups_clicks_delete"),
    ("conversion_events", "INSERT", "NEW TABLE AS new_rows", "rollups_events_insert"),
    (
        "conversion_events",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "rollups_events_update",
    ),
    ("conversion_events", "DELETE", "OLD TABLE AS old_rows", "rollups_events_delete"),
)

FUNCTIONS = {
    "rollups_clicks_insert": """
BEGIN
    WITH delta AS (
        SELECT workspace_id, created_at, campaign_id, offer_id, traffic_source_id,
            is_unique, is_bot, cost, sign
        FROM (SELECT *, 1 AS sign FROM new_rows) AS c
    )
    INSERT INTO rollup_campaign_clicks AS r (workspace_id, hour, campaign_id, offer_id,
        traffic_source_id, clicks, unique_clicks, bot_clicks, cost_micros)
    SELECT workspace_id, date_trunc('hour', created_at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, sum(sign), sum(sign * is_unique::int), sum(sign * is_bot::int),
        sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (workspace_id, hour, campaign_id, offer_id, traffic_source_id)
    DO UPDATE SET
        clicks = r.clicks + excluded.clicks,
        unique_clicks = r.unique_clicks + excluded.unique_clicks,
        bot_clicks = r.bot_clicks + excluded.bot_clicks,
        cost_micros = r.cost_micros + excluded.cost_micros;

    WITH delta AS (
        SELECT workspace_id, created_at, country, device_type, is_unique, is_bot, cost, sign
        FROM (SELECT *, 1 AS sign FROM new_rows) AS c
    )
    INSERT INTO rollup_geo_clicks AS r (workspace_id, hour, country, device_type, clicks,
        unique_clicks, bot_clicks, cost_micros)
    SELECT workspace_id, date_trunc('hour', created_at, 'UTC'), country, device_type,
        sum(sign), sum(sign * is_unique::int), sum(sign * is_bot::int), sum(sign * (cost *
        1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (workspace_id, hour, country, device_type)
    DO UPDATE SET
        clicks = r.clicks + excluded.clicks,
        unique_clicks = r.unique_clicks + excluded.unique_clicks,
        bot_clicks = r.bot_clicks + excluded.bot_clicks,
        cost_micros = r.cost_micros + excluded.cost_micros;

    WITH delta AS (
        SELECT workspace_id, created_at, campaign_id, offer_id, traffic_source_id, country,
            device_type, is_unique, is_bot, cost, sign
        FROM (SELECT *, 1 AS sign FROM new_rows) AS c
    )
    INSERT INTO rollup_full_clicks AS r (workspace_id, hour, campaign_id, offer_id,
        traffic_source_id, country, device_type, clicks, unique_clicks, bot_clicks,
        cost_micros)
    SELECT workspace_id, date_trunc('hour', created_at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, country, device_type, sum(sign), sum(sign * is_unique::int),
        sum(sign * is_bot::int), sum(sign * (cost * 1000000)::bigint)
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

    RETURN NULL;
END
""",
    "rollups_clicks_update": """
BEGIN
    WITH delta AS (
        SELECT workspace_id, created_at, campaign_id, offer_id, traffic_source_id,
            is_unique, is_bot, cost, sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS c
    )
    INSERT INTO rollup_campaign_clicks AS r (workspace_id, hour, campaign_id, offer_id,
        traffic_source_id, clicks, unique_clicks, bot_clicks, cost_micros)
    SELECT workspace_id, date_trunc('hour', created_at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, sum(sign), sum(sign * is_unique::int), sum(sign * is_bot::int),
        sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5
    HAVING sum(sign) <> 0 OR sum(sign * is_unique::int) <> 0 OR sum(sign * is_bot::int) <> 0
        OR sum(sign * (cost * 1000000)::bigint) <> 0
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (workspace_id, hour, campaign_id, offer_id, traffic_source_id)
    DO UPDATE SET
        clicks = r.clicks + excluded.clicks,
        unique_clicks = r.unique_clicks + excluded.unique_clicks,
        bot_clicks = r.bot_clicks + excluded.bot_clicks,
        cost_micros = r.cost_micros + excluded.cost_micros;

    WITH delta AS (
        SELECT workspace_id, created_at, campaign_id, offer_id, traffic_source_id,
            is_unique, is_bot, cost, sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS c
    )
    DELETE FROM rollup_campaign_clicks AS r
    USING (SELECT DISTINCT workspace_id, date_trunc('hour', created_at, 'UTC') AS hour,
        campaign_id, offer_id, traffic_source_id FROM delta WHERE sign < 0) AS k
    WHERE r.clicks = 0
      AND r.workspace_id = k.workspace_id
      AND r.hour = k.hour
      AND r.campaign_id = k.campaign_id
      AND r.offer_id IS NOT DISTINCT FROM k.offer_id
      AND r.traffic_source_id IS NOT DISTINCT FROM k.traffic_source_id;

    WITH delta AS (
        SELECT workspace_id, created_at, country, device_type, is_unique, is_bot, cost, sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS c
    )
    INSERT INTO rollup_geo_clicks AS r (workspace_id, hour, country, device_type, clicks,
        unique_clicks, bot_clicks, cost_micros)
    SELECT workspace_id, date_trunc('hour', created_at, 'UTC'), country, device_type,
        sum(sign), sum(sign * is_unique::int), sum(sign * is_bot::int), sum(sign * (cost *
        1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4
    HAVING sum(sign) <> 0 OR sum(sign * is_unique::int) <> 0 OR sum(sign * is_bot::int) <> 0
        OR sum(sign * (cost * 1000000)::bigint) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (workspace_id, hour, country, device_type)
    DO UPDATE SET
        clicks = r.clicks + excluded.clicks,
        unique_clicks = r.unique_clicks + excluded.unique_clicks,
        bot_clicks = r.bot_clicks + excluded.bot_clicks,
        cost_micros = r.cost_micros + excluded.cost_micros;

    WITH delta AS (
        SELECT workspace_id, created_at, country, device_type, is_unique, is_bot, cost, sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS c
    )
    DELETE FROM rollup_geo_clicks AS r
    USING (SELECT DISTINCT workspace_id, date_trunc('hour', created_at, 'UTC') AS hour,
        country, device_type FROM delta WHERE sign < 0) AS k
    WHERE r.clicks = 0
      AND r.workspace_id = k.workspace_id
      AND r.hour = k.hour
      AND r.country IS NOT DISTINCT FROM k.country
      AND r.device_type IS NOT DISTINCT FROM k.device_type;

    WITH delta AS (
        SELECT workspace_id, created_at, campaign_id, offer_id, traffic_source_id, country,
            device_type, is_unique, is_bot, cost, sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS c
    )
    INSERT INTO rollup_full_clicks AS r (workspace_id, hour, campaign_id, offer_id,
        traffic_source_id, country, device_type, clicks, unique_clicks, bot_clicks,
        cost_micros)
    SELECT workspace_id, date_trunc('hour', created_at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, country, device_type, sum(sign), sum(sign * is_unique::int),
        sum(sign * is_bot::int), sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(sign) <> 0 OR sum(sign * is_unique::int) <> 0 OR sum(sign * is_bot::int) <> 0
        OR sum(sign * (cost * 1000000)::bigint) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (workspace_id, hour, campaign_id, offer_id, traffic_source_id, country,
        device_type)
    DO UPDATE SET
        clicks = r.clicks + excluded.clicks,
        unique_clicks = r.unique_clicks + excluded.unique_clicks,
        bot_clicks = r.bot_clicks + excluded.bot_clicks,
        cost_micros = r.cost_micros + excluded.cost_micros;

    WITH delta AS (
        SELECT workspace_id, created_at, campaign_id, offer_id, traffic_source_id, country,
            device_type, is_unique, is_bot, cost, sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS c
    )
    DELETE FROM rollup_full_clicks AS r
    USING (SELECT DISTINCT workspace_id, date_trunc('hour', created_at, 'UTC') AS hour,
        campaign_id, offer_id, traffic_source_id, country, device_type FROM delta WHERE sign
        < 0) AS k
    WHERE r.clicks = 0
      AND r.workspace_id = k.workspace_id
      AND r.hour = k.hour
      AND r.campaign_id = k.campaign_id
      AND r.offer_id IS NOT DISTINCT FROM k.offer_id
      AND r.traffic_source_id IS NOT DISTINCT FROM k.traffic_source_id
      AND r.country IS NOT DISTINCT FROM k.country
      AND r.device_type IS NOT DISTINCT FROM k.device_type;

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
    INSERT INTO rollup_campaign_events AS r (workspace_id, attribution, hour, campaign_id,
        offer_id, traffic_source_id, type_id, status, events, amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, type_id, status, sum(sign), sum(sign * (amount *
        1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (workspace_id, attribution, hour, campaign_id, offer_id, traffic_source_id,
        type_id, status)
    DO UPDATE SET
        events = r.events + excluded.events,
        amount_micros = r.amount_micros + excluded.amount_micros;

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
    DELETE FROM rollup_campaign_events AS r
    USING (SELECT DISTINCT workspace_id, attribution, date_trunc('hour', at, 'UTC') AS hour,
        campaign_id, offer_id, traffic_source_id, type_id, status FROM delta WHERE sign < 0)
        AS k
    WHERE r.events = 0
      AND r.workspace_id = k.workspace_id
      AND r.attribution = k.attribution
      AND r.hour = k.hour
      AND r.campaign_id = k.campaign_id
      AND r.offer_id IS NOT DISTINCT FROM k.offer_id
      AND r.traffic_source_id IS NOT DISTINCT FROM k.traffic_source_id
      AND r.type_id = k.type_id
      AND r.status = k.status;

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
    INSERT INTO rollup_geo_events AS r (workspace_id, attribution, hour, country,
        device_type, type_id, status, events, amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), country, device_type,
        type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (workspace_id, attribution, hour, country, device_type, type_id, status)
    DO UPDATE SET
        events = r.events + excluded.events,
        amount_micros = r.amount_micros + excluded.amount_micros;

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
    DELETE FROM rollup_geo_events AS r
    USING (SELECT DISTINCT workspace_id, attribution, date_trunc('hour', at, 'UTC') AS hour,
        country, device_type, type_id, status FROM delta WHERE sign < 0) AS k
    WHERE r.events = 0
      AND r.workspace_id = k.workspace_id
      AND r.attribution = k.attribution
      AND r.hour = k.hour
      AND r.country IS NOT DISTINCT FROM k.country
      AND r.device_type IS NOT DISTINCT FROM k.device_type
      AND r.type_id = k.type_id
      AND r.status = k.status;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, d.campaign_id, d.offer_id,
            d.traffic_source_id, d.country, d.device_type, e.type_id, e.status, e.amount,
            d.sign
        FROM old_rows AS o
        JOIN new_rows AS n ON n.workspace_id = o.workspace_id
            AND n.created_at = o.created_at AND n.id = o.id
        JOIN conversion_events AS e ON e.workspace_id = o.workspace_id
            AND e.click_created_at = o.created_at AND e.click_id = o.id
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
    INSERT INTO rollup_full_events AS r (workspace_id, attribution, hour, campaign_id,
        offer_id, traffic_source_id, country, device_type, type_id, status, events,
        amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, country, device_type, type_id, status, sum(sign), sum(sign *
        (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    ON CONFLICT (workspace_id, attribution, hour, campaign_id, offer_id, traffic_source_id,
        country, device_type, type_id, status)
    DO UPDATE SET
        events = r.events + excluded.events,
        amount_micros = r.amount_micros + excluded.amount_micros;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, d.campaign_id, d.offer_id,
            d.traffic_source_id, d.country, d.device_type, e.type_id, e.status, e.amount,
            d.sign
        FROM old_rows AS o
        JOIN new_rows AS n ON n.workspace_id = o.workspace_id
            AND n.created_at = o.created_at AND n.id = o.id
        JOIN conversion_events AS e ON e.workspace_id = o.workspace_id
            AND e.click_created_at = o.created_at AND e.click_id = o.id
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
    DELETE FROM rollup_full_events AS r
    USING (SELECT DISTINCT workspace_id, attribution, date_trunc('hour', at, 'UTC') AS hour,
        campaign_id, offer_id, traffic_source_id, country, device_type, type_id, status FROM
        delta WHERE sign < 0) AS k
    WHERE r.events = 0
      AND r.workspace_id = k.workspace_id
      AND r.attribution = k.attribution
      AND r.hour = k.hour
      AND r.campaign_id = k.campaign_id
      AND r.offer_id IS NOT DISTINCT FROM k.offer_id
      AND r.traffic_source_id IS NOT DISTINCT FROM k.traffic_source_id
      AND r.country IS NOT DISTINCT FROM k.country
      AND r.device_type IS NOT DISTINCT FROM k.device_type
      AND r.type_id = k.type_id
      AND r.status = k.status;

    RETURN NULL;
END
""",
    "rollups_clicks_delete": """
BEGIN
    WITH delta AS (
        SELECT workspace_id, created_at, campaign_id, offer_id, traffic_source_id,
            is_unique, is_bot, cost, sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS c
    )
    INSERT INTO rollup_campaign_clicks AS r (workspace_id, hour, campaign_id, offer_id,
        traffic_source_id, clicks, unique_clicks, bot_clicks, cost_micros)
    SELECT workspace_id, date_trunc('hour', created_at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, sum(sign), sum(sign * is_unique::int), sum(sign * is_bot::int),
        sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (workspace_id, hour, campaign_id, offer_id, traffic_source_id)
    DO UPDATE SET
        clicks = r.clicks + excluded.clicks,
        unique_clicks = r.unique_clicks + excluded.unique_clicks,
        bot_clicks = r.bot_clicks + excluded.bot_clicks,
        cost_micros = r.cost_micros + excluded.cost_micros;

    WITH delta AS (
        SELECT workspace_id, created_at, campaign_id, offer_id, traffic_source_id,
            is_unique, is_bot, cost, sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS c
    )
    DELETE FROM rollup_campaign_clicks AS r
    USING (SELECT DISTINCT workspace_id, date_trunc('hour', created_at, 'UTC') AS hour,
        campaign_id, offer_id, traffic_source_id FROM delta WHERE sign < 0) AS k
    WHERE r.clicks = 0
      AND r.workspace_id = k.workspace_id
      AND r.hour = k.hour
      AND r.campaign_id = k.campaign_id
      AND r.offer_id IS NOT DISTINCT FROM k.offer_id
      AND r.traffic_source_id IS NOT DISTINCT FROM k.traffic_source_id;

    WITH delta AS (
        SELECT workspace_id, created_at, country, device_type, is_unique, is_bot, cost, sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS c
    )
    INSERT INTO rollup_geo_clicks AS r (workspace_id, hour, country, device_type, clicks,
        unique_clicks, bot_clicks, cost_micros)
    SELECT workspace_id, date_trunc('hour', created_at, 'UTC'), country, device_type,
        sum(sign), sum(sign * is_unique::int), sum(sign * is_bot::int), sum(sign * (cost *
        1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (workspace_id, hour, country, device_type)
    DO UPDATE SET
        clicks = r.clicks + excluded.clicks,
        unique_clicks = r.unique_clicks + excluded.unique_clicks,
        bot_clicks = r.bot_clicks + excluded.bot_clicks,
        cost_micros = r.cost_micros + excluded.cost_micros;

    WITH delta AS (
        SELECT workspace_id, created_at, country, device_type, is_unique, is_bot, cost, sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS c
    )
    DELETE FROM rollup_geo_clicks AS r
    USING (SELECT DISTINCT workspace_id, date_trunc('hour', created_at, 'UTC') AS hour,
        country, device_type FROM delta WHERE sign < 0) AS k
    WHERE r.clicks = 0
      AND r.workspace_id = k.workspace_id
      AND r.hour = k.hour
      AND r.country IS NOT DISTINCT FROM k.country
      AND r.device_type IS NOT DISTINCT FROM k.device_type;

    WITH delta AS (
        SELECT workspace_id, created_at, campaign_id, offer_id, traffic_source_id, country,
            device_type, is_unique, is_bot, cost, sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS c
    )
    INSERT INTO rollup_full_clicks AS r (workspace_id, hour, campaign_id, offer_id,
        traffic_source_id, country, device_type, clicks, unique_clicks, bot_clicks,
        cost_micros)
    SELECT workspace_id, date_trunc('hour', created_at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, country, device_type, sum(sign), sum(sign * is_unique::int),
        sum(sign * is_bot::int), sum(sign * (cost * 1000000)::bigint)
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

    WITH delta AS (
        SELECT workspace_id, created_at, campaign_id, offer_id, traffic_source_id, country,
            device_type, is_unique, is_bot, cost, sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS c
    )
    DELETE FROM rollup_full_clicks AS r
    USING (SELECT DISTINCT workspace_id, date_trunc('hour', created_at, 'UTC') AS hour,
        campaign_id, offer_id, traffic_source_id, country, device_type FROM delta WHERE sign
        < 0) AS k
    WHERE r.clicks = 0
      AND r.workspace_id = k.workspace_id
      AND r.hour = k.hour
      AND r.campaign_id = k.campaign_id
      AND r.offer_id IS NOT DISTINCT FROM k.offer_id
      AND r.traffic_source_id IS NOT DISTINCT FROM k.traffic_source_id
      AND r.country IS NOT DISTINCT FROM k.country
      AND r.device_type IS NOT DISTINCT FROM k.device_type;

    RETURN NULL;
END
""",
    "rollups_events_insert": """
BEGIN
    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, e.type_id, e.status, e.amount, e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows) AS e
        JOIN clicks AS c ON c.workspace_id = e.workspace_id
            AND c.created_at = e.click_created_at AND c.id = e.click_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_campaign_events AS r (workspace_id, attribution, hour, campaign_id,
        offer_id, traffic_source_id, type_id, status, events, amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, type_id, status, sum(sign), sum(sign * (amount *
        1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (workspace_id, attribution, hour, campaign_id, offer_id, traffic_source_id,
        type_id, status)
    DO UPDATE SET
        events = r.events + excluded.events,
        amount_micros = r.amount_micros + excluded.amount_micros;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.country, c.device_type, e.type_id,
            e.status, e.amount, e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows) AS e
        JOIN clicks AS c ON c.workspace_id = e.workspace_id
            AND c.created_at = e.click_created_at AND c.id = e.click_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_geo_events AS r (workspace_id, attribution, hour, country,
        device_type, type_id, status, events, amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), country, device_type,
        type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (workspace_id, attribution, hour, country, device_type, type_id, status)
    DO UPDATE SET
        events = r.events + excluded.events,
        amount_micros = r.amount_micros + excluded.amount_micros;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, c.country, c.device_type, e.type_id, e.status, e.amount,
            e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows) AS e
        JOIN clicks AS c ON c.workspace_id = e.workspace_id
            AND c.created_at = e.click_created_at AND c.id = e.click_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_full_events AS r (workspace_id, attribution, hour, campaign_id,
        offer_id, traffic_source_id, country, device_type, type_id, status, events,
        amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, country, device_type, type_id, status, sum(sign), sum(sign *
        (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    ON CONFLICT (workspace_id, attribution, hour, campaign_id, offer_id, traffic_source_id,
        country, device_type, type_id, status)
    DO UPDATE SET
        events = r.events + excluded.events,
        amount_micros = r.amount_micros + excluded.amount_micros;

    RETURN NULL;
END
""",
    "rollups_events_update": """
BEGIN
    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, e.type_id, e.status, e.amount, e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS e
        JOIN clicks AS c ON c.workspace_id = e.workspace_id
            AND c.created_at = e.click_created_at AND c.id = e.click_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_campaign_events AS r (workspace_id, attribution, hour, campaign_id,
        offer_id, traffic_source_id, type_id, status, events, amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, type_id, status, sum(sign), sum(sign * (amount *
        1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (workspace_id, attribution, hour, campaign_id, offer_id, traffic_source_id,
        type_id, status)
    DO UPDATE SET
        events = r.events + excluded.events,
        amount_micros = r.amount_micros + excluded.amount_micros;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, e.type_id, e.status, e.amount, e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS e
        JOIN clicks AS c ON c.workspace_id = e.workspace_id
            AND c.created_at = e.click_created_at AND c.id = e.click_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    DELETE FROM rollup_campaign_events AS r
    USING (SELECT DISTINCT workspace_id, attribution, date_trunc('hour', at, 'UTC') AS hour,
        campaign_id, offer_id, traffic_source_id, type_id, status FROM delta WHERE sign < 0)
        AS k
    WHERE r.events = 0
      AND r.workspace_id = k.workspace_id
      AND r.attribution = k.attribution
      AND r.hour = k.hour
      AND r.campaign_id = k.campaign_id
      AND r.offer_id IS NOT DISTINCT FROM k.offer_id
      AND r.traffic_source_id IS NOT DISTINCT FROM k.traffic_source_id
      AND r.type_id = k.type_id
      AND r.status = k.status;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.country, c.device_type, e.type_id,
            e.status, e.amount, e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS e
        JOIN clicks AS c ON c.workspace_id = e.workspace_id
            AND c.created_at = e.click_created_at AND c.id = e.click_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_geo_events AS r (workspace_id, attribution, hour, country,
        device_type, type_id, status, events, amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), country, device_type,
        type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (workspace_id, attribution, hour, country, device_type, type_id, status)
    DO UPDATE SET
        events = r.events + excluded.events,
        amount_micros = r.amount_micros + excluded.amount_micros;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.country, c.device_type, e.type_id,
            e.status, e.amount, e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS e
        JOIN clicks AS c ON c.workspace_id = e.workspace_id
            AND c.created_at = e.click_created_at AND c.id = e.click_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    DELETE FROM rollup_geo_events AS r
    USING (SELECT DISTINCT workspace_id, attribution, date_trunc('hour', at, 'UTC') AS hour,
        country, device_type, type_id, status FROM delta WHERE sign < 0) AS k
    WHERE r.events = 0
      AND r.workspace_id = k.workspace_id
      AND r.attribution = k.attribution
      AND r.hour = k.hour
      AND r.country IS NOT DISTINCT FROM k.country
      AND r.device_type IS NOT DISTINCT FROM k.device_type
      AND r.type_id = k.type_id
      AND r.status = k.status;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, c.country, c.device_type, e.type_id, e.status, e.amount,
            e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS e
        JOIN clicks AS c ON c.workspace_id = e.workspace_id
            AND c.created_at = e.click_created_at AND c.id = e.click_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_full_events AS r (workspace_id, attribution, hour, campaign_id,
        offer_id, traffic_source_id, country, device_type, type_id, status, events,
        amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, country, device_type, type_id, status, sum(sign), sum(sign *
        (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    ON CONFLICT (workspace_id, attribution, hour, campaign_id, offer_id, traffic_source_id,
        country, device_type, type_id, status)
    DO UPDATE SET
        events = r.events + excluded.events,
        amount_micros = r.amount_micros + excluded.amount_micros;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, c.country, c.device_type, e.type_id, e.status, e.amount,
            e.sign
        FROM (SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM
            old_rows) AS e
        JOIN clicks AS c ON c.workspace_id = e.workspace_id
            AND c.created_at = e.click_created_at AND c.id = e.click_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    DELETE FROM rollup_full_events AS r
    USING (SELECT DISTINCT workspace_id, attribution, date_trunc('hour', at, 'UTC') AS hour,
        campaign_id, offer_id, traffic_source_id, country, device_type, type_id, status FROM
        delta WHERE sign < 0) AS k
    WHERE r.events = 0
      AND r.workspace_id = k.workspace_id
      AND r.attribution = k.attribution
      AND r.hour = k.hour
      AND r.campaign_id = k.campaign_id
      AND r.offer_id IS NOT DISTINCT FROM k.offer_id
      AND r.traffic_source_id IS NOT DISTINCT FROM k.traffic_source_id
      AND r.country IS NOT DISTINCT FROM k.country
      AND r.device_type IS NOT DISTINCT FROM k.device_type
      AND r.type_id = k.type_id
      AND r.status = k.status;

    RETURN NULL;
END
""",
    "rollups_events_delete": """
BEGIN
    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, e.type_id, e.status, e.amount, e.sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS e
        JOIN clicks AS c ON c.workspace_id = e.workspace_id
            AND c.created_at = e.click_created_at AND c.id = e.click_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_campaign_events AS r (workspace_id, attribution, hour, campaign_id,
        offer_id, traffic_source_id, type_id, status, events, amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, type_id, status, sum(sign), sum(sign * (amount *
        1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (workspace_id, attribution, hour, campaign_id, offer_id, traffic_source_id,
        type_id, status)
    DO UPDATE SET
        events = r.events + excluded.events,
        amount_micros = r.amount_micros + excluded.amount_micros;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, e.type_id, e.status, e.amount, e.sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS e
        JOIN clicks AS c ON c.workspace_id = e.workspace_id
            AND c.created_at = e.click_created_at AND c.id = e.click_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    DELETE FROM rollup_campaign_events AS r
    USING (SELECT DISTINCT workspace_id, attribution, date_trunc('hour', at, 'UTC') AS hour,
        campaign_id, offer_id, traffic_source_id, type_id, status FROM delta WHERE sign < 0)
        AS k
    WHERE r.events = 0
      AND r.workspace_id = k.workspace_id
      AND r.attribution = k.attribution
      AND r.hour = k.hour
      AND r.campaign_id = k.campaign_id
      AND r.offer_id IS NOT DISTINCT FROM k.offer_id
      AND r.traffic_source_id IS NOT DISTINCT FROM k.traffic_source_id
      AND r.type_id = k.type_id
      AND r.status = k.status;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.country, c.device_type, e.type_id,
            e.status, e.amount, e.sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS e
        JOIN clicks AS c ON c.workspace_id = e.workspace_id
            AND c.created_at = e.click_created_at AND c.id = e.click_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_geo_events AS r (workspace_id, attribution, hour, country,
        device_type, type_id, status, events, amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), country, device_type,
        type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (workspace_id, attribution, hour, country, device_type, type_id, status)
    DO UPDATE SET
        events = r.events + excluded.events,
        amount_micros = r.amount_micros + excluded.amount_micros;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.country, c.device_type, e.type_id,
            e.status, e.amount, e.sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS e
        JOIN clicks AS c ON c.workspace_id = e.workspace_id
            AND c.created_at = e.click_created_at AND c.id = e.click_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    DELETE FROM rollup_geo_events AS r
    USING (SELECT DISTINCT workspace_id, attribution, date_trunc('hour', at, 'UTC') AS hour,
        country, device_type, type_id, status FROM delta WHERE sign < 0) AS k
    WHERE r.events = 0
      AND r.workspace_id = k.workspace_id
      AND r.attribution = k.attribution
      AND r.hour = k.hour
      AND r.country IS NOT DISTINCT FROM k.country
      AND r.device_type IS NOT DISTINCT FROM k.device_type
      AND r.type_id = k.type_id
      AND r.status = k.status;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, c.country, c.device_type, e.type_id, e.status, e.amount,
            e.sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS e
        JOIN clicks AS c ON c.workspace_id = e.workspace_id
            AND c.created_at = e.click_created_at AND c.id = e.click_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    INSERT INTO rollup_full_events AS r (workspace_id, attribution, hour, campaign_id,
        offer_id, traffic_source_id, country, device_type, type_id, status, events,
        amount_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, country, device_type, type_id, status, sum(sign), sum(sign *
        (amount * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    ON CONFLICT (workspace_id, attribution, hour, campaign_id, offer_id, traffic_source_id,
        country, device_type, type_id, status)
    DO UPDATE SET
        events = r.events + excluded.events,
        amount_micros = r.amount_micros + excluded.amount_micros;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, c.country, c.device_type, e.type_id, e.status, e.amount,
            e.sign
        FROM (SELECT *, -1 AS sign FROM old_rows) AS e
        JOIN clicks AS c ON c.workspace_id = e.workspace_id
            AND c.created_at = e.click_created_at AND c.id = e.click_id
        CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), ('conversion',
            e.created_at)) AS a (attribution, at)
    )
    DELETE FROM rollup_full_events AS r
    USING (SELECT DISTINCT workspace_id, attribution, date_trunc('hour', at, 'UTC') AS hour,
        campaign_id, offer_id, traffic_source_id, country, device_type, type_id, status FROM
        delta WHERE sign < 0) AS k
    WHERE r.events = 0
      AND r.workspace_id = k.workspace_id
      AND r.attribution = k.attribution
      AND r.hour = k.hour
      AND r.campaign_id = k.campaign_id
      AND r.offer_id IS NOT DISTINCT FROM k.offer_id
      AND r.traffic_source_id IS NOT DISTINCT FROM k.traffic_source_id
      AND r.country IS NOT DISTINCT FROM k.country
      AND r.device_type IS NOT DISTINCT FROM k.device_type
      AND r.type_id = k.type_id
      AND r.status = k.status;

    RETURN NULL;
END
""",
}


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
    for name, body in FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$")
    for table, event, transition, function in TRIGGERS:
        op.execute(
            f"CREATE TRIGGER rollups_{event.lower()} AFTER {event} ON {table} "
            f"REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


def downgrade() -> None:
    for table, event, _, _ in TRIGGERS:
        op.execute(f"DROP TRIGGER rollups_{event.lower()} ON {table}")
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION {name}()")
    for table in reversed(TABLES):
        op.drop_table(table)
