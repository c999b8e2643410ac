"""A page of clicks with every nested field costs a constant number of SQL statements."""

from datetime import UTC, datetime, timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from models import Click, ConversionEvent
from models.click_ids import new_click_id
from models.partitions import ensure_partitions
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
