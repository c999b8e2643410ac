"""SQL of the click path: campaign lookups and the batched click insert."""

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ingestion.clicks.records import CampaignRoute, ClickRecord, OfferRoute
from models.enums import CostModel, RecordStatus

CLICK_COLUMNS = (
    "workspace_id",
    "created_at",
    "id",
    "campaign_id",
    "offer_id",
    "traffic_source_id",
    "ip",
    "user_agent",
    "device_type",
    "os",
    "browser",
    "is_bot",
    "is_unique",
    "country",
    "referrer",
    "external_id",
    "cost",
    *(f"sub{i}" for i in range(1, 21)),
    "params",
)

_CAMPAIGN = text(
    """
    SELECT c.workspace_id, c.id, c.status, c.cost_model, c.cost_value,
           c.traffic_source_id, s.name AS source_name, s.click_id_param
    FROM campaigns c
    LEFT JOIN traffic_sources s
      ON s.workspace_id = c.workspace_id AND s.id = c.traffic_source_id
    WHERE c.key = :key
    LIMIT 1
    """
)
_OFFERS = text(
    """
    SELECT o.id, o.url, co.weight
    FROM campaign_offers co
    JOIN offers o ON o.workspace_id = co.workspace_id AND o.id = co.offer_id
    WHERE co.workspace_id = :workspace_id AND co.campaign_id = :campaign_id
      AND o.status = 'active'
    ORDER BY o.id
    """
)


async def find_campaign(engine: AsyncEngine, key: str) -> CampaignRoute | None:
    async with engine.connect() as conn:
        row = (await conn.execute(_CAMPAIGN, {"key": key})).one_or_none()
        if row is None:
            return None
        offers = (
            await conn.execute(_OFFERS, {"workspace_id": row.workspace_id, "campaign_id": row.id})
        ).all()
    return CampaignRoute(
        workspace_id=row.workspace_id,
        id=row.id,
        status=RecordStatus(row.status),
        cost_model=CostModel(row.cost_model),
        cost_value=row.cost_value,
        traffic_source_id=row.traffic_source_id,
        traffic_source_name=row.source_name,
        source_click_id_param=row.click_id_param,
        offers=tuple(OfferRoute(id=o.id, url=o.url, weight=o.weight) for o in offers),
    )


async def insert_clicks(conn: asyncpg.Connection, clicks: Sequence[ClickRecord]) -> None:
    """One COPY, committed on its own: what a durable redirect waits for."""
    rows = [_row(click) for click in clicks]
    await conn.copy_records_to_table("clicks", records=rows, columns=CLICK_COLUMNS)


# One statement reads each visitor's previous click and records the batch's latest one: the
# SELECT sees the table as it was before the upsert in the same statement.
_REMEMBER = """
    WITH batch AS (
        SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::timestamptz[])
            AS b(workspace_id, campaign_id, fingerprint, last_click_at)
    ), previous AS (
        SELECT f.workspace_id, f.campaign_id, f.fingerprint, f.last_click_at
        FROM click_fingerprints f JOIN batch USING (workspace_id, campaign_id, fingerprint)
    ), remembered AS (
        INSERT INTO click_fingerprints (workspace_id, campaign_id, fingerprint, last_click_at)
        SELECT * FROM batch
        ON CONFLICT (workspace_id, campaign_id, fingerprint) DO UPDATE
        SET last_click_at = greatest(click_fingerprints.last_click_at, excluded.last_click_at)
    )
    SELECT * FROM previous
"""
_MARK_REPEATS = """
    UPDATE clicks SET is_unique = false
    FROM unnest($1::bigint[], $2::timestamptz[], $3::text[]) AS r(workspace_id, created_at, id)
    WHERE clicks.workspace_id = r.workspace_id AND clicks.created_at = r.created_at
      AND clicks.id = r.id
"""

VisitorKey = tuple[int, int, bytes]


async def mark_repeat_clicks(
    conn: asyncpg.Connection, clicks: Sequence[ClickRecord], *, unique_window: timedelta
) -> int:
    """Flag the clicks whose visitor clicked the same campaign within the window; return how many.

    Runs after the clicks are committed, off the redirect's path: a visitor row that every
    click of a busy proxy touches would otherwise serialise the commits of all batches.
    """
    latest: dict[VisitorKey, datetime] = {}
    for click in clicks:
        key = (click.workspace_id, click.campaign_id, click.fingerprint)
        latest[key] = max(latest.get(key, click.created_at), click.created_at)
    keys = list(latest)
    async with conn.transaction():
        previous = {
            (r["workspace_id"], r["campaign_id"], r["fingerprint"]): r["last_click_at"]
            for r in await conn.fetch(
                _REMEMBER, *([k[i] for k in keys] for i in range(3)), [latest[k] for k in keys]
            )
        }
        repeats = []
        for click in sorted(clicks, key=lambda c: c.created_at):
            key = (click.workspace_id, click.campaign_id, click.fingerprint)
            seen = previous.get(key)
            if seen is not None and click.created_at - seen < unique_window:
                repeats.append(click)
            previous[key] = click.created_at
        if repeats:
            await conn.execute(
                _MARK_REPEATS,
                [c.workspace_id for c in repeats],
                [c.created_at for c in repeats],
                [c.id for c in repeats],
            )
    return len(repeats)


def _row(click: ClickRecord) -> tuple[object, ...]:
    return (
        click.workspace_id,
        click.created_at,
        click.id,
        click.campaign_id,
        click.offer_id,
        click.traffic_source_id,
        click.ip,
        click.user_agent,
        click.device_type,
        click.os,
        click.browser,
        click.is_bot,
        # Until mark_repeat_clicks says otherwise.
        True,
        click.country,
        click.referrer,
        click.external_id,
        click.cost,
        *click.subs,
        click.params,
    )


async def prune_fingerprints(engine: AsyncEngine, *, older_than: datetime) -> int:
    async with engine.begin() as conn:
        result = await conn.execute(
            text("DELETE FROM click_fingerprints WHERE last_click_at < :cutoff"),
            {"cutoff": older_than},
        )
    return int(result.rowcount)
