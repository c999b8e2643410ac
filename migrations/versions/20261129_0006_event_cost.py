"""event cost: CPA and RevShare campaigns' cost, carried by the conversion events

Clicks carry CPC and CPM cost. A CPA campaign pays its cost value for each event whose type
counts as a conversion, a RevShare campaign its cost value in percent of each event's revenue
(so at most 100): conversion_events.cost holds it, fixed when the event is recorded, and the
event rollups sum it as cost_micros beside the amount.

Existing events of CPA and RevShare campaigns get their cost from their campaign's current
terms; the rollup triggers carry it into the rollups.

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
# The trigger functions before this one, and how they are replaced.
_pending = importlib.import_module("migrations.versions.20261125_0004_pending_rollups")
EVENT_MEASURES = ("events", "amount_micros", "cost_micros")
# (table, unique constraint, key columns in index order) of the event rollups.
EVENT_KEYS = tuple(
    (table, name, key) for table, name, key, measures in _covering.KEYS if table.endswith("_events")
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
            d.traffic_source_id, e.type_id, e.status, e.amount, e.cost, d.sign
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
        amount_micros, cost_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone),
        campaign_id, offer_id, traffic_source_id, type_id, status, sum(sign), sum(sign *
        (amount * 1000000)::bigint), sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0 OR sum(sign * (cost
        * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, d.country, d.device_type,
            e.type_id, e.status, e.amount, e.cost, d.sign
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
        country, device_type, type_id, status, events, amount_micros, cost_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone), country,
        device_type, type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint),
        sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0 OR sum(sign * (cost
        * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, d.campaign_id, d.offer_id,
            d.traffic_source_id, d.country, d.device_type, e.type_id, e.status, e.amount,
            e.cost, d.sign
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
        events, amount_micros, cost_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone),
        campaign_id, offer_id, traffic_source_id, country, device_type, type_id, status,
        sum(sign), sum(sign * (amount * 1000000)::bigint), sum(sign * (cost *
        1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0 OR sum(sign * (cost
        * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, d.campaign_id, d.offer_id,
            d.traffic_source_id, e.type_id, e.status, e.amount, e.cost, d.sign
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
        campaign_id, offer_id, traffic_source_id, type_id, status, events, amount_micros,
        cost_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, type_id, status, sum(sign), sum(sign * (amount *
        1000000)::bigint), sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0 OR sum(sign * (cost
        * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, d.country, d.device_type, e.type_id,
            e.status, e.amount, e.cost, d.sign
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
        device_type, type_id, status, events, amount_micros, cost_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), country, device_type,
        type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint), sum(sign * (cost
        * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0 OR sum(sign * (cost
        * 1000000)::bigint) <> 0;

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
            c.traffic_source_id, e.type_id, e.status, e.amount, e.cost, e.sign
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
        amount_micros, cost_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone),
        campaign_id, offer_id, traffic_source_id, type_id, status, sum(sign), sum(sign *
        (amount * 1000000)::bigint), sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, c.country, c.device_type,
            e.type_id, e.status, e.amount, e.cost, e.sign
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
        country, device_type, type_id, status, events, amount_micros, cost_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone), country,
        device_type, type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint),
        sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, c.country, c.device_type, e.type_id, e.status, e.amount,
            e.cost, e.sign
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
        events, amount_micros, cost_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone),
        campaign_id, offer_id, traffic_source_id, country, device_type, type_id, status,
        sum(sign), sum(sign * (amount * 1000000)::bigint), sum(sign * (cost *
        1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, e.type_id, e.status, e.amount, e.cost, e.sign
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
        campaign_id, offer_id, traffic_source_id, type_id, status, events, amount_micros,
        cost_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, type_id, status, sum(sign), sum(sign * (amount *
        1000000)::bigint), sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.country, c.device_type, e.type_id,
            e.status, e.amount, e.cost, e.sign
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
        device_type, type_id, status, events, amount_micros, cost_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), country, device_type,
        type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint), sum(sign * (cost
        * 1000000)::bigint)
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
            c.traffic_source_id, e.type_id, e.status, e.amount, e.cost, e.sign
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
        amount_micros, cost_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone),
        campaign_id, offer_id, traffic_source_id, type_id, status, sum(sign), sum(sign *
        (amount * 1000000)::bigint), sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0 OR sum(sign * (cost
        * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, c.country, c.device_type,
            e.type_id, e.status, e.amount, e.cost, e.sign
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
        country, device_type, type_id, status, events, amount_micros, cost_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone), country,
        device_type, type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint),
        sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0 OR sum(sign * (cost
        * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, c.country, c.device_type, e.type_id, e.status, e.amount,
            e.cost, e.sign
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
        events, amount_micros, cost_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone),
        campaign_id, offer_id, traffic_source_id, country, device_type, type_id, status,
        sum(sign), sum(sign * (amount * 1000000)::bigint), sum(sign * (cost *
        1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0 OR sum(sign * (cost
        * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, e.type_id, e.status, e.amount, e.cost, e.sign
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
        campaign_id, offer_id, traffic_source_id, type_id, status, events, amount_micros,
        cost_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, type_id, status, sum(sign), sum(sign * (amount *
        1000000)::bigint), sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0 OR sum(sign * (cost
        * 1000000)::bigint) <> 0;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.country, c.device_type, e.type_id,
            e.status, e.amount, e.cost, e.sign
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
        device_type, type_id, status, events, amount_micros, cost_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), country, device_type,
        type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint), sum(sign * (cost
        * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(sign) <> 0 OR sum(sign * (amount * 1000000)::bigint) <> 0 OR sum(sign * (cost
        * 1000000)::bigint) <> 0;

    RETURN NULL;
END
""",
    "rollups_events_delete": """
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1919904876, (workspace_id % 2147483648)::integer)
    FROM (SELECT DISTINCT workspace_id FROM old_rows ORDER BY 1) AS w;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, e.type_id, e.status, e.amount, e.cost, e.sign
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
        amount_micros, cost_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone),
        campaign_id, offer_id, traffic_source_id, type_id, status, sum(sign), sum(sign *
        (amount * 1000000)::bigint), sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, c.country, c.device_type,
            e.type_id, e.status, e.amount, e.cost, e.sign
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
        country, device_type, type_id, status, events, amount_micros, cost_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone), country,
        device_type, type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint),
        sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

    WITH delta AS (
        SELECT e.workspace_id, w.timezone, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, c.country, c.device_type, e.type_id, e.status, e.amount,
            e.cost, e.sign
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
        events, amount_micros, cost_micros)
    SELECT workspace_id, timezone, attribution, date_trunc('day', at, timezone),
        campaign_id, offer_id, traffic_source_id, country, device_type, type_id, status,
        sum(sign), sum(sign * (amount * 1000000)::bigint), sum(sign * (cost *
        1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.campaign_id, c.offer_id,
            c.traffic_source_id, e.type_id, e.status, e.amount, e.cost, e.sign
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
        campaign_id, offer_id, traffic_source_id, type_id, status, events, amount_micros,
        cost_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), campaign_id, offer_id,
        traffic_source_id, type_id, status, sum(sign), sum(sign * (amount *
        1000000)::bigint), sum(sign * (cost * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

    WITH delta AS (
        SELECT e.workspace_id, a.attribution, a.at, c.country, c.device_type, e.type_id,
            e.status, e.amount, e.cost, e.sign
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
        device_type, type_id, status, events, amount_micros, cost_micros)
    SELECT workspace_id, attribution, date_trunc('hour', at, 'UTC'), country, device_type,
        type_id, status, sum(sign), sum(sign * (amount * 1000000)::bigint), sum(sign * (cost
        * 1000000)::bigint)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7;

    RETURN NULL;
END
""",
}


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
    _pending._replace_functions(FUNCTIONS)
    # Through the new triggers, so the rollups take the cost too.
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
    _pending._replace_functions(_pending.FUNCTIONS)
    _replace_keys(EVENT_MEASURES[:-1])
    for table, _, _ in EVENT_KEYS:
        for name in (table, f"{table}_pending"):
            op.drop_column(name, "cost_micros")
    op.drop_constraint(op.f("ck_campaigns_revshare_percent"), "campaigns", type_="check")
    op.drop_column("conversion_events", "cost")
