"""Lists with nested data cost a constant number of SQL statements, whatever their length."""

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.catalog.service import create_campaign
from api.workspaces.service import NewWorkspace
from models import Click, ConversionEvent, PostbackLogEntry
from models.click_ids import new_click_id
from models.enums import HitKind, HitOutcome
from models.partitions import ensure_partitions
from models.rollups import rebuild_rollups
from tests.api.conftest import conversion_type_ids, statements
from tests.api.graphql import execute
from tests.ingestion.conftest import TrackedCampaign

Client = AsyncTestClient[Litestar]

NESTED_PAGE = """
query ($first: Int) {
  clicks(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id country subs
      campaign { name trafficSource { name } }
      offer { name url }
      trafficSource { name }
      conversions { type amount status conversionType { name } }
      transactions { txid amount click { id } }
      events(types: ["transaction"]) { txid }
    }
  }
}
"""


async def _clicks_with_events(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign, count: int
) -> None:
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await ensure_partitions(conn, since=now - timedelta(hours=count), until=now)
    types = await conversion_type_ids(session, campaign.workspace_id)
    clicks, events = [], []
    for n in range(count):
        click_id, created_at = new_click_id(now - timedelta(minutes=n))
        clicks.append(
            {
                "workspace_id": campaign.workspace_id,
                "created_at": created_at,
                "id": click_id,
                "campaign_id": campaign.campaign_id,
                "offer_id": campaign.offer_id,
                "traffic_source_id": campaign.source_id,
                "country": "DE",
            }
        )
        for type_name, txid in (("conversion", ""), ("transaction", "a"), ("transaction", "b")):
            events.append(
                {
                    "workspace_id": campaign.workspace_id,
                    "click_created_at": created_at,
                    "click_id": click_id,
                    "type_id": types[type_name],
                    "txid": txid,
                    "dedup_txid": txid,
                    "amount": 1,
                }
            )
    await session.execute(insert(Click), clicks)
    await session.execute(insert(ConversionEvent), events)
    await session.commit()


async def test_a_page_with_nested_events_costs_a_constant_number_of_statements(
    api_client: Client, session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    await _clicks_with_events(session, engine, campaign, 100)
    app_engine: AsyncEngine = api_client.app.state.engine
    # The key's first request of the minute also records its use: one more statement.
    await execute(api_client, campaign.workspace.admin_api_key, "{ workspace { name } }")
    counts = {}
    for first in (10, 100):
        with statements(app_engine) as executed:
            body = await execute(
                api_client, campaign.workspace.admin_api_key, NESTED_PAGE, {"first": first}
            )
        assert "errors" not in body, body
        nodes = body["data"]["clicks"]["nodes"]
        assert len(nodes) == first
        assert all(len(node["transactions"]) == 2 for node in nodes)
        counts[first] = len(executed)
    # Key lookup, page, the count (workspace zone, report settings, the sum from a rollup),
    # then one batch each: campaigns, offers, sources, events, conversion types, clicks
    # (transactions' click).
    assert counts[10] == counts[100] <= 11, counts


async def _statement_counts(
    client: Client, api_key: str, query: str, sizes: dict[int, dict[str, Any]], path: str
) -> dict[int, int]:
    """Statements per request for each size (variables), checking the list's length."""
    app_engine: AsyncEngine = client.app.state.engine
    # The key's first request of the minute also records its use: one more statement.
    await execute(client, api_key, "{ workspace { name } }")
    counts = {}
    for size, variables in sizes.items():
        with statements(app_engine) as executed:
            body = await execute(client, api_key, query, variables)
        assert "errors" not in body, body
        found: Any = body["data"]
        for name in path.split("."):
            found = found[name]
        assert len(found) == size
        counts[size] = len(executed)
    return counts


async def test_events_with_their_clicks_cost_a_constant_number_of_statements(
    api_client: Client, session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    await _clicks_with_events(session, engine, campaign, 40)
    query = """
    query ($first: Int) {
      conversions(first: $first) {
        nodes { id conversionType { name } click { id campaign { name } transactions { id } } }
      }
    }
    """
    counts = await _statement_counts(
        api_client,
        campaign.workspace.admin_api_key,
        query,
        {10: {"first": 10}, 100: {"first": 100}},
        "conversions.nodes",
    )
    # The key lookup, the page, then one batch each: conversion types, clicks, campaigns, the
    # clicks' events.
    assert counts[10] == counts[100] <= 6, counts


async def test_campaigns_with_their_offers_cost_a_constant_number_of_statements(
    api_client: Client, session: AsyncSession, workspace: NewWorkspace
):
    workspace_id = workspace.workspace.id
    assert workspace_id is not None
    for n in range(12):
        await create_campaign(
            session,
            workspace_id=workspace_id,
            name=f"Campaign {n}",
            offer_url="https://shop.example/?cid={clickid}",
            source_name=f"Source {n % 3}",
        )
    await session.commit()
    query = """
    query ($first: Int) {
      campaigns(first: $first) {
        name trafficSource { name } offers { weight offer { name url } }
      }
    }
    """
    counts = await _statement_counts(
        api_client,
        workspace.admin_api_key,
        query,
        {2: {"first": 2}, 12: {"first": 12}},
        "campaigns",
    )
    # The key lookup, the campaigns, then one batch each: sources, weighted offers, offers.
    assert counts[2] == counts[12] <= 5, counts


async def test_report_rows_with_their_campaigns_cost_a_constant_number_of_statements(
    api_client: Client, session: AsyncSession, engine: AsyncEngine, workspace: NewWorkspace
):
    workspace_id = workspace.workspace.id
    assert workspace_id is not None
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await ensure_partitions(conn, since=now - timedelta(hours=1), until=now)
    clicks = []
    for n in range(12):
        created = await create_campaign(
            session,
            workspace_id=workspace_id,
            name=f"Campaign {n}",
            offer_url="https://shop.example/?cid={clickid}",
            source_name="Source",
        )
        click_id, created_at = new_click_id(now - timedelta(seconds=n))
        clicks.append(
            {
                "workspace_id": workspace_id,
                "created_at": created_at,
                "id": click_id,
                "campaign_id": created.campaign.id,
            }
        )
    await session.execute(insert(Click), clicks)
    await session.commit()
    # Hand-made rows reach the rollups by a rebuild.
    async with engine.begin() as conn:
        await rebuild_rollups(conn, workspace_id=workspace_id)
    query = """
    query ($rows: Int) {
      report(groupBy: [CAMPAIGN], first: $rows) {
        rows { clicks campaign { name trafficSource { name } } }
      }
    }
    """
    counts = await _statement_counts(
        api_client,
        workspace.admin_api_key,
        query,
        {2: {"rows": 2}, 12: {"rows": 12}},
        "report.rows",
    )
    assert counts[2] == counts[12], counts
    # Plain fields of the campaign and offer: the compiled path (api.compiled.report), one
    # statement each for all the rows.
    query = """
    query ($rows: Int) {
      report(groupBy: [CAMPAIGN], first: $rows) {
        rows { clicks campaign { name } offer { name } trafficSource { name } }
      }
    }
    """
    compiled = await _statement_counts(
        api_client,
        workspace.admin_api_key,
        query,
        {2: {"rows": 2}, 12: {"rows": 12}},
        "report.rows",
    )
    # The key lookup, the workspace's time zone, the report's settings and statement, the
    # campaigns (grouped by campaign alone, the rows name no offer or source).
    assert compiled[2] == compiled[12] <= 5, compiled


async def test_the_postback_log_costs_a_constant_number_of_statements(
    api_client: Client, session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await ensure_partitions(conn, since=now - timedelta(hours=1), until=now)
    await session.execute(
        insert(PostbackLogEntry),
        [
            {
                "workspace_id": campaign.workspace_id,
                "received_at": now - timedelta(seconds=n),
                "kind": HitKind.POSTBACK,
                "method": "GET",
                "source_ip": "192.0.2.1",
                "query": f"clickid=x{n}",
                "outcome": HitOutcome.REJECTED,
                "reason": "unknown_click",
                "http_status": 200,
            }
            for n in range(30)
        ],
    )
    await session.commit()
    query = """
    query ($first: Int) {
      postbackLog(first: $first) { nodes { id receivedAt kind sourceIp outcome reason } }
    }
    """
    counts = await _statement_counts(
        api_client,
        campaign.workspace.admin_api_key,
        query,
        {3: {"first": 3}, 30: {"first": 30}},
        "postbackLog.nodes",
    )
    # The key lookup, the page.
    assert counts[3] == counts[30] == 2, counts
