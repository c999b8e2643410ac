"""Every amount ingestion accepts sums in the rollups and reports; one workspace's rows that
cannot be compacted hold back no other workspace."""

import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.workspaces.service import create_workspace
from ingestion.app import _compact_rollups
from models.rollups import ROLLUPS, compact_rollups, rebuild_rollups
from tests.api.graphql import execute
from tests.ingestion.conftest import TrackedCampaign, campaign, click, postback

__all__ = ["campaign"]

Client = AsyncTestClient[Litestar]
LARGEST = "999999999999.999999"
REPORT = """query($filter: ClickFilter) {
  report(filter: $filter, groupBy: [CAMPAIGN]) {
    source rows { revenue profit byType { count revenue } } totals { revenue }
  }
}"""


async def test_ten_of_the_largest_amounts_sum_in_rollups_and_reports(
    api_client: Client,
    ingestion_client: Client,
    engine: AsyncEngine,
    session: AsyncSession,
    campaign: TrackedCampaign,
):
    for _ in range(10):
        click_id = await click(ingestion_client)
        status, body = await postback(
            ingestion_client, campaign.secret, clickid=click_id, sum=LARGEST
        )
        assert status == 200, body
    async with engine.begin() as conn:
        assert (await compact_rollups(conn)).failed == {}
    # Deleting them passes through the same sums, negated.
    # Exact, as a Decimal says it: a float would have been off in the last digits.
    expected = str(Decimal(LARGEST) * 10)
    key = campaign.workspace.admin_api_key
    reports = [
        (await execute(api_client, key, REPORT, {"filter": f}))["data"]["report"]
        for f in (None, {"or": [{"isBot": True}, {"isBot": False}]})
    ]
    assert [r["source"] for r in reports] == ["rollup_campaign_daily", "raw"]
    for report in reports:
        [row] = report["rows"]
        assert row["revenue"] == expected
        assert row["byType"] == [{"count": 10, "revenue": row["revenue"]}]
        assert report["totals"]["revenue"] == row["revenue"]
    # Deleted by hand, so recounted; compaction of ten negated amounts is in the next test.
    await session.execute(text("DELETE FROM conversion_events"))
    await session.commit()
    async with engine.begin() as conn:
        await rebuild_rollups(conn, workspace_id=campaign.workspace_id)
    left = await session.scalar(text("SELECT count(*) FROM rollup_campaign_daily_events"))
    assert left == 0


async def test_a_workspace_whose_rows_cannot_be_compacted_holds_back_no_other(
    engine: AsyncEngine, session: AsyncSession, caplog: pytest.LogCaptureFixture
):
    broken = (await create_workspace(session, name="Broken")).workspace.id
    fine = (await create_workspace(session, name="Fine")).workspace.id
    await session.commit()
    slot = datetime(2030, 1, 1, tzinfo=UTC)
    pending = (
        "INSERT INTO rollup_clicks_pending (workspace_id, slot, campaign_id, offer_id, "
        "traffic_source_id, clicks, unique_clicks, bot_clicks, cost_micros) "
        "VALUES (:w, :h, 1, 1, NULL, 1, 0, 0, :cost)"
    )
    # Two halves of a sum past numeric(38,0): no amount ingestion accepts gets near it, so
    # only a hand-made row (or a bug) can fail a compaction this way.
    for workspace_id, cost in ((broken, 9 * 10**37), (broken, 9 * 10**37), (fine, 5)):
        await session.execute(text(pending), {"w": workspace_id, "h": slot, "cost": cost})
    await session.commit()

    stuck: set[int] = set()
    with caplog.at_level(logging.INFO, logger="ingestion.app"):
        await _compact_rollups(engine, stuck=stuck)
        await _compact_rollups(engine, stuck=stuck)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert f"rollup rows of workspace {broken} cannot be compacted" in errors[0].getMessage()
    assert "numeric field overflow" in errors[0].getMessage()
    for rollup in ROLLUPS:
        folded = await session.execute(
            text(f"SELECT workspace_id, cost_micros FROM {rollup.clicks_table}")
        )
        assert [tuple(row) for row in folded] == [(fine, 5)], rollup.name
    still = await session.execute(
        text("SELECT workspace_id, count(*) FROM rollup_clicks_pending GROUP BY 1")
    )
    assert [tuple(row) for row in still] == [(broken, 2)]

    caplog.clear()
    await session.execute(text("DELETE FROM rollup_clicks_pending"))
    await session.commit()
    with caplog.at_level(logging.INFO, logger="ingestion.app"):
        await _compact_rollups(engine, stuck=stuck)
    assert [r.getMessage() for r in caplog.records] == [
        f"rollup rows of workspace {broken} are compacted again"
    ]
    assert stuck == set()
