"""Raw retention as a running tracker meets it: rollup figures outlive the raw rows they counted,
and a late postback for a dropped click is answered as any unknown click is."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ingestion.app import create_app
from models import Campaign
from models.partition_upkeep import drop_expired
from models.partitions import existing_partitions, month_start, partition_name
from models.settings import Settings
from tests.api.graphql import execute
from tests.ingestion.conftest import TrackedCampaign, count, insert_click, postback

Client = AsyncTestClient[Litestar]
ROW = "bucket clicks conversions transactions revenue cost"
REPORT = f"""
query Report($filter: ClickFilter, $bucket: TimeBucket, $tz: String,
             $attribution: ReportAttribution) {{
  report(filter: $filter, groupBy: [CAMPAIGN], timeBucket: $bucket, timezone: $tz,
         attribution: $attribution) {{
    source rows {{ {ROW} }}
  }}
}}
"""
# Matches every click, but no rollup holds the bot flag: the raw tables answer.
RAW = {"or": [{"isBot": True}, {"isBot": False}]}
OLD = timedelta(days=100)


async def _report(client: Client, campaign: TrackedCampaign, **variables: Any) -> dict[str, Any]:
    body = await execute(client, campaign.workspace.admin_api_key, REPORT, variables)
    assert "errors" not in body, body
    report: dict[str, Any] = body["data"]["report"]
    return report


async def _partitions(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return await existing_partitions(conn)


async def test_without_retention_ingestion_keeps_every_month(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign, settings: Settings
):
    assert settings.raw_retention_days is None
    click_at = datetime.now(UTC) - OLD
    await insert_click(session, engine, campaign, click_at)
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/health")).status_code == 200
    assert partition_name("clicks", month_start(click_at)) in await _partitions(engine)
    assert await count(session, "SELECT count(*) FROM clicks") == 1


async def test_with_retention_ingestion_drops_the_expired_months_as_it_starts(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign, settings: Settings
):
    now = datetime.now(UTC)
    await insert_click(session, engine, campaign, now - OLD)
    await insert_click(session, engine, campaign, now)
    kept = {partition_name(table, month_start(now)) for table in ("clicks", "postback_log")}
    app = create_app(settings.model_copy(update={"raw_retention_days": 30}))
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/health")).status_code == 200
    partitions = await _partitions(engine)
    assert partition_name("clicks", month_start(now - OLD)) not in partitions
    assert partition_name("conversion_events", month_start(now - OLD)) not in partitions
    assert kept <= partitions
    assert await count(session, "SELECT count(*) FROM clicks") == 1


async def test_rollup_figures_outlive_the_raw_rows_and_a_late_postback_finds_no_click(
    ingestion_client: Client,
    api_client: Client,
    session: AsyncSession,
    engine: AsyncEngine,
    campaign: TrackedCampaign,
):
    await session.execute(update(Campaign).values(attribution_window_days=365))
    await session.commit()
    click_at = datetime.now(UTC) - OLD
    click_id = await insert_click(session, engine, campaign, click_at)
    # A late conversion: stored in the click's month, counted today by conversion time. Its
    # rollup changes may still be pending when the month is dropped.
    status, body = await postback(ingestion_client, campaign.secret, clickid=click_id, sum="7")
    assert (status, body["result"]) == (200, "accepted")
    # Local midnights of the workspace's zone: whole days, which the daily rollups answer.
    zone = ZoneInfo(campaign.workspace.workspace.timezone)
    day = click_at.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    today = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    reports = {
        "by click day": {
            "filter": {"createdFrom": day.isoformat(), "createdBefore": (day + OLD).isoformat()},
            "bucket": "DAY",
        },
        "by click hour, UTC": {
            "filter": {"createdFrom": day.isoformat(), "createdBefore": (day + OLD).isoformat()},
            "bucket": "HOUR",
            "tz": "UTC",
        },
        "by conversion day": {
            "filter": {"createdFrom": today.isoformat()},
            "bucket": "DAY",
            "attribution": "CONVERSION_TIME",
        },
    }
    before = {name: await _report(api_client, campaign, **v) for name, v in reports.items()}
    assert {name: r["source"] for name, r in before.items()} == {
        "by click day": "rollup_campaign_daily",
        "by click hour, UTC": "rollup_campaign",
        "by conversion day": "rollup_campaign_daily",
    }
    assert before["by click day"]["rows"][0]["clicks"] == 1
    assert before["by conversion day"]["rows"][0]["conversions"] == 1
    assert (await _report(api_client, campaign, filter=RAW))["rows"][0]["clicks"] == 1

    dropped = await drop_expired(engine, retention_days=30)

    assert partition_name("clicks", month_start(click_at)) in dropped
    after = {name: await _report(api_client, campaign, **v) for name, v in reports.items()}
    assert after == before
    # Reports that must read raw rows find none before the retention.
    assert (await _report(api_client, campaign, filter=RAW))["rows"] == []

    status, body = await postback(
        ingestion_client, campaign.secret, clickid=click_id, type="transaction", sum="3"
    )
    assert (status, body["error"]) == (404, "unknown_click")
    logged = await session.execute(
        text("SELECT reason FROM postback_log ORDER BY received_at DESC LIMIT 1")
    )
    assert logged.scalar_one() == "unknown_click"
