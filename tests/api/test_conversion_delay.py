"""conversionDelay: the time-to-conversion histogram, checked bucket by bucket."""

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.workspaces.service import create_workspace
from models import Click, ConversionEvent
from models.click_ids import new_click_id
from models.partitions import ensure_partitions
from tests.api.conftest import conversion_type_ids
from tests.api.graphql import execute
from tests.ingestion.conftest import TrackedCampaign

Client = AsyncTestClient[Litestar]

DELAY = """
query Delay($filter: ClickFilter, $groupBy: ReportDimension, $types: [String!],
            $statuses: [ConversionStatus!], $threshold: Int, $share: Float, $first: Int) {
  conversionDelay(filter: $filter, groupBy: $groupBy, types: $types, statuses: $statuses,
                  thresholdSeconds: $threshold, flagShare: $share, first: $first) {
    buckets { fromSeconds toSeconds label }
    thresholdSeconds flagShare totalRows
    rows { type key events counts underThreshold shareUnderThreshold flagged medianSeconds
           campaign { name } trafficSource { name } }
    totals { type key events counts underThreshold shareUnderThreshold flagged medianSeconds }
  }
}
"""
LABELS = [
    "<5s", "5-10s", "10-30s", "30s-1m", "1-5m", "5-15m", "15-30m", "30m-1h",
    "1-3h", "3-6h", "6-12h", "12h-1d", "1-2d", "2-3d", "3d-1w", "1-2w", ">2w",
]  # fmt: skip
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=40)


def _counts(**at: int) -> list[int]:
    """Counts per bucket, zero but for the buckets named by label index (`b0=2`)."""
    counts = [0] * len(LABELS)
    for name, count in at.items():
        counts[int(name[1:])] = count
    return counts


async def _delay(client: Client, key: str, **variables: Any) -> dict[str, Any]:
    body = await execute(client, key, DELAY, variables)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["conversionDelay"]
    return result


async def _record(
    session: AsyncSession,
    engine: AsyncEngine,
    campaign: TrackedCampaign,
    # (sub1, [(type, status, seconds after the click)])
    clicks: list[tuple[str, list[tuple[str, str, int]]]],
) -> None:
    async with engine.begin() as conn:
        await ensure_partitions(conn, since=START, until=START + timedelta(days=40))
    types = await conversion_type_ids(session, campaign.workspace_id)
    click_rows, events = [], []
    for n, (sub1, steps) in enumerate(clicks):
        click_id, created_at = new_click_id(START + timedelta(minutes=n))
        click_rows.append(
            {
                "workspace_id": campaign.workspace_id,
                "created_at": created_at,
                "id": click_id,
                "campaign_id": campaign.campaign_id,
                "offer_id": campaign.offer_id,
                "traffic_source_id": campaign.source_id,
                "sub1": sub1,
            }
        )
        for m, (type_name, status, seconds) in enumerate(steps):
            events.append(
                {
                    "workspace_id": campaign.workspace_id,
                    "click_created_at": created_at,
                    "click_id": click_id,
                    "type_id": types[type_name],
                    "txid": str(m),
                    "dedup_txid": "" if type_name == "conversion" else str(m),
                    "status": status,
                    "amount": "1",
                    "created_at": created_at + timedelta(seconds=seconds),
                }
            )
    await session.execute(insert(Click), click_rows)
    await session.execute(insert(ConversionEvent), events)
    await session.commit()


async def _injected_and_honest(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
) -> None:
    await _record(
        session,
        engine,
        campaign,
        [
            ("inject", [("conversion", "approved", 2), ("transaction", "approved", 20 * 60)]),
            ("inject", [("conversion", "pending", 3)]),
            ("honest", [("conversion", "approved", 2 * 3600)]),
            ("honest", [("conversion", "approved", 3 * 86400)]),
            ("honest", [("conversion", "approved", 20 * 86400)]),
            # Declined: left out unless asked for.
            ("honest", [("conversion", "declined", 1)]),
            ("quiet", []),
        ],
    )


async def test_histogram_per_sub_value_flags_events_too_soon_after_the_click(
    api_client: Client, session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    await _injected_and_honest(session, engine, campaign)
    result = await _delay(
        api_client, campaign.workspace.admin_api_key, groupBy="SUB1", threshold=10, share=0.5
    )
    assert [b["label"] for b in result["buckets"]] == LABELS
    assert result["buckets"][0] == {"fromSeconds": 0, "toSeconds": 5, "label": "<5s"}
    assert result["buckets"][-1] == {"fromSeconds": 1209600, "toSeconds": None, "label": ">2w"}
    assert (result["thresholdSeconds"], result["flagShare"], result["totalRows"]) == (10, 0.5, 3)
    rows = [{k: v for k, v in row.items() if k not in ("campaign", "trafficSource")}
            for row in result["rows"]]  # fmt: skip
    assert rows == [
        {
            "type": "conversion",
            "key": "honest",
            "events": 3,
            "counts": _counts(b8=1, b14=1, b16=1),
            "underThreshold": 0,
            "shareUnderThreshold": 0.0,
            "flagged": False,
            "medianSeconds": 3 * 86400.0,
        },
        {
            "type": "conversion",
            "key": "inject",
            "events": 2,
            "counts": _counts(b0=2),
            "underThreshold": 2,
            "shareUnderThreshold": 1.0,
            "flagged": True,
            "medianSeconds": 2.5,
        },
        {
            "type": "transaction",
            "key": "inject",
            "events": 1,
            "counts": _counts(b6=1),
            "underThreshold": 0,
            "shareUnderThreshold": 0.0,
            "flagged": False,
            "medianSeconds": 1200.0,
        },
    ]
    assert result["totals"] == [
        {
            "type": "conversion",
            "key": None,
            "events": 5,
            "counts": _counts(b0=2, b8=1, b14=1, b16=1),
            "underThreshold": 2,
            "shareUnderThreshold": 0.4,
            "flagged": False,
            "medianSeconds": 7200.0,
        },
        {
            "type": "transaction",
            "key": None,
            "events": 1,
            "counts": _counts(b6=1),
            "underThreshold": 0,
            "shareUnderThreshold": 0.0,
            "flagged": False,
            "medianSeconds": 1200.0,
        },
    ]


async def test_grouped_by_campaign_with_types_statuses_and_a_page(
    api_client: Client, session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    await _injected_and_honest(session, engine, campaign)
    key = campaign.workspace.admin_api_key
    result = await _delay(api_client, key, groupBy="CAMPAIGN", types=["conversion"])
    [row] = result["rows"]
    assert (row["key"], row["campaign"], row["events"]) == (
        str(campaign.campaign_id),
        {"name": "Summer sale"},
        5,
    )
    # Default threshold 10 s and flag share 0.2: two of five conversions came within seconds.
    assert (row["underThreshold"], row["flagged"]) == (2, True)

    declined = await _delay(api_client, key, groupBy="TRAFFIC_SOURCE", statuses=["DECLINED"])
    [row] = declined["rows"]
    assert (row["trafficSource"], row["counts"], row["events"]) == (
        {"name": "PushNet"},
        _counts(b0=1),
        1,
    )

    page = await _delay(api_client, key, groupBy="SUB1", first=1)
    assert (page["totalRows"], [r["key"] for r in page["rows"]]) == (3, ["honest"])
    assert len(page["totals"]) == 2

    # The date range is the clicks': the three honest clicks' conversions come at minutes 2-4.
    later = await _delay(
        api_client,
        key,
        filter={"createdFrom": (START + timedelta(minutes=3)).isoformat()},
    )
    assert [(t["type"], t["events"]) for t in later["totals"]] == [("conversion", 2)]


async def test_another_workspace_sees_none_of_the_events(
    api_client: Client, session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    await _injected_and_honest(session, engine, campaign)
    other = await create_workspace(session, name="Other", timezone="UTC")
    await session.commit()
    result = await _delay(api_client, other.admin_api_key, groupBy="CAMPAIGN")
    assert (result["rows"], result["totals"], result["totalRows"]) == ([], [], 0)
    # Nor through the first workspace's campaign id.
    result = await _delay(
        api_client,
        other.admin_api_key,
        filter={"campaignIds": [str(campaign.campaign_id)]},
    )
    assert result["totals"] == []


async def test_hostile_arguments_are_refused_with_a_message(
    api_client: Client, campaign: TrackedCampaign
):
    key = campaign.workspace.admin_api_key
    for variables, message in (
        ({"threshold": -1}, "thresholdSeconds must be between 0 and 7776000"),
        ({"threshold": 2**31 - 1}, "thresholdSeconds must be between 0 and 7776000"),
        ({"share": 1.5}, "flagShare must be between 0 and 1"),
        ({"share": -0.1}, "flagShare must be between 0 and 1"),
        ({"first": 0}, "first must be between 1 and 1000"),
        ({"first": 1001}, "first must be between 1 and 1000"),
        ({"types": ["x"] * 1001}, "types"),
        ({"filter": {"campaignIds": ["99999999999999999999"]}}, "campaignIds"),
        ({"filter": {"createdFrom": "0001-01-01T00:00:00Z"}}, "createdFrom"),
    ):
        body = await execute(api_client, key, DELAY, variables)
        [error] = body["errors"]
        assert message in error["message"], (variables, error)
        assert error["extensions"]["code"] == "INVALID_INPUT", error
    # GraphQL's own types refuse what overflows an Int.
    body = await execute(api_client, key, DELAY, {"threshold": 2**31})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
