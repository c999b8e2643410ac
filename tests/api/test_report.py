import json
import random
import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import insert, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from api.app import create_app
from api.catalog.service import create_conversion_type
from api.errors import QueryInputError
from api.reports import service
from api.reports.queries import _metrics
from api.reports.types import ReportAttribution
from api.workspaces.service import create_workspace
from models import Campaign, Click, ConversionEvent
from models.click_ids import click_time, new_click_id
from models.enums import ConversionStatus, CostModel, DuplicatePolicy
from models.partitions import ensure_partitions
from models.rollups import (
    CLICKS_PENDING,
    DIMENSIONS,
    EVENTS_PENDING,
    ROLLUPS,
    ClickChanges,
    EventChanges,
    compact_rollups,
    lock_shared,
    rebuild_rollups,
)
from models.settings import Settings
from tests.api.conftest import Traffic, conversion_type_ids, statements
from tests.api.graphql import execute
from tests.ingestion.conftest import TrackedCampaign, click, postback

Client = AsyncTestClient[Litestar]

ROW = """
bucket campaign { name } offer { name } trafficSource { name } country deviceType os browser
subs { index value }
clicks uniqueClicks botClicks conversions transactions revenue cost profit roi cr epc cpa
byType { type count revenue }
"""
REPORT = f"""
query Report($filter: ClickFilter, $groupBy: [ReportDimension!], $bucket: TimeBucket,
             $tz: String, $attribution: ReportAttribution, $statuses: [ConversionStatus!],
             $orderBy: [ReportOrder!], $having: [ReportCondition!], $first: Int) {{
  report(filter: $filter, groupBy: $groupBy, timeBucket: $bucket, timezone: $tz,
         attribution: $attribution, statuses: $statuses, orderBy: $orderBy, having: $having,
         first: $first) {{
    source totalRows
    rows {{ {ROW} }}
    totals {{ {ROW} }}
  }}
}}
"""
# Matches every click, but no rollup holds the bot flag: forces the raw tables.
RAW = {"or": [{"isBot": True}, {"isBot": False}]}


async def _report(client: Client, key: str, **variables: Any) -> dict[str, Any]:
    body = await execute(client, key, REPORT, variables)
    assert "errors" not in body, body
    report: dict[str, Any] = body["data"]["report"]
    return report


def _today() -> tuple[str, str]:
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start.isoformat(), (start + timedelta(days=1)).isoformat()


async def test_report_counts_conversions_and_transactions_apart(
    api_client: Client, traffic: Traffic
):
    key = traffic.campaign.workspace.admin_api_key
    start, end = _today()
    report = await _report(
        api_client,
        key,
        filter={"createdFrom": start, "createdBefore": end},
        groupBy=["CAMPAIGN"],
        bucket="DAY",
        tz="UTC",
    )
    assert report["source"] == "rollup_campaign"
    [row] = report["rows"]
    assert row["bucket"] == start
    assert row["campaign"] == {"name": "Summer sale"}
    assert row["trafficSource"] is None  # not grouped by it
    # Four clicks at 0.05 (CPC); the buyer's conversion and two transactions, the lead's
    # pending conversion (approved and pending count by default).
    expected = {
        "clicks": 4,
        "botClicks": 1,
        "conversions": 2,
        "transactions": 2,
        "revenue": "22.000000",
        "cost": "0.200000",
        "profit": "21.800000",
        "roi": 10900.0,
        "cr": 50.0,
        "epc": "5.500000",
        "cpa": "0.100000",
        "byType": [
            {"type": "conversion", "count": 2, "revenue": "12.000000"},
            {"type": "transaction", "count": 2, "revenue": "10.000000"},
        ],
    }
    assert {k: row[k] for k in expected} == expected
    assert {k: report["totals"][k] for k in expected} == expected
    raw = await _report(api_client, key, filter={**RAW, "createdFrom": start}, groupBy=["CAMPAIGN"])
    assert raw["source"] == "raw"
    assert {k: raw["rows"][0][k] for k in expected} == expected


async def test_cost_holds_what_cpa_and_revshare_events_cost(
    api_client: Client,
    ingestion_client: Client,
    session: AsyncSession,
    campaign: TrackedCampaign,
):
    await session.execute(
        update(Campaign)
        .where(col(Campaign.id) == campaign.campaign_id)
        .values(cost_model=CostModel.REVSHARE, cost_value=Decimal(40))
    )
    await session.commit()
    buyer, lead = await click(ingestion_client), await click(ingestion_client)
    for params in (
        {"clickid": buyer, "sum": "10"},
        {"clickid": buyer, "type": "transaction", "txid": "t1", "sum": "5"},
        {"clickid": lead, "status": "pending", "sum": "2.5"},
    ):
        status, body = await postback(ingestion_client, campaign.secret, **params)
        assert status == 200, body
    key = campaign.workspace.admin_api_key
    start, end = _today()
    for filter_ in ({"createdFrom": start, "createdBefore": end}, {**RAW, "createdFrom": start}):
        for attribution in ("CLICK_TIME", "CONVERSION_TIME"):
            report = await _report(
                api_client, key, filter=filter_, groupBy=["CAMPAIGN"], attribution=attribution
            )
            # 40% of 10 + 5 + 2.5 (approved and pending count by default); the clicks are free.
            expected = {
                "revenue": "17.500000",
                "cost": "7.000000",
                "profit": "10.500000",
                "roi": 150.0,
                "cpa": "3.500000",
            }
            assert {k: report["totals"][k] for k in expected} == expected, report["source"]
            assert {k: report["rows"][0][k] for k in expected} == expected
        approved = await _report(api_client, key, filter=filter_, statuses=["APPROVED"])
        assert approved["totals"]["cost"] == "6.000000"
        # Cost alone still takes the events in.
        only_cost = await execute(api_client, key, "{ report { totals { cost } } }", {})
        assert only_cost["data"]["report"]["totals"] == {"cost": "7.000000"}
    events = await execute(api_client, key, "{ conversions { nodes { type amount cost } } }", {})
    assert events["data"]["conversions"]["nodes"] == [
        {"type": "conversion", "amount": "2.500000", "cost": "1.000000"},
        {"type": "transaction", "amount": "5.000000", "cost": "2.000000"},
        {"type": "conversion", "amount": "10.000000", "cost": "4.000000"},
    ]


async def test_statuses_narrow_what_counts(api_client: Client, traffic: Traffic):
    key = traffic.campaign.workspace.admin_api_key
    approved = await _report(api_client, key, statuses=["APPROVED"])
    assert (approved["totals"]["conversions"], approved["totals"]["revenue"]) == (1, "20.000000")
    pending = await _report(api_client, key, statuses=["PENDING"], filter=RAW)
    assert (pending["totals"]["conversions"], pending["totals"]["revenue"]) == (1, "2.000000")
    for filter_ in (None, RAW):
        none = await _report(api_client, key, statuses=[], filter=filter_)
        assert (none["totals"]["conversions"], none["totals"]["revenue"]) == (0, "0.000000")
        assert none["totals"]["clicks"] == 4


async def test_custom_types_count_as_their_flags_say(
    api_client: Client, session: AsyncSession, engine: AsyncEngine, traffic: Traffic
):
    workspace_id = traffic.campaign.workspace_id
    for click_id, name, counts_as_conversion, counts_in_revenue, amount in (
        (traffic.browser, "signup", True, False, "3"),
        (traffic.buyer, "upsell", False, True, "7"),
    ):
        custom = await create_conversion_type(
            session,
            workspace_id=workspace_id,
            name=name,
            counts_as_conversion=counts_as_conversion,
            counts_in_revenue=counts_in_revenue,
            duplicate_policy=DuplicatePolicy.IGNORE,
        )
        clicked_at = click_time(click_id)
        assert clicked_at is not None
        # Written directly: the ingestion app caches a workspace's types.
        session.add(
            ConversionEvent(
                workspace_id=workspace_id,
                click_created_at=clicked_at,
                click_id=click_id,
                type_id=custom.id,
                amount=Decimal(amount),
            )
        )
    await session.commit()
    # Hand-made rows reach the rollups by a rebuild.
    async with engine.begin() as conn:
        await rebuild_rollups(conn, workspace_id=workspace_id)
    key = traffic.campaign.workspace.admin_api_key
    for filter_ in ({}, RAW):
        report = await _report(api_client, key, filter=filter_)
        totals = report["totals"]
        # conversion x2 and signup count as conversions; all but signup count in revenue.
        assert (totals["conversions"], totals["transactions"], totals["revenue"]) == (
            3,
            2,
            "29.000000",
        )
        assert totals["byType"] == [
            {"type": "conversion", "count": 2, "revenue": "12.000000"},
            {"type": "signup", "count": 1, "revenue": "3.000000"},
            {"type": "transaction", "count": 2, "revenue": "10.000000"},
            {"type": "upsell", "count": 1, "revenue": "7.000000"},
        ], report["source"]


async def test_empty_buckets_come_back_as_zeros(api_client: Client, traffic: Traffic):
    key = traffic.campaign.workspace.admin_api_key
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for filter_extra in ({}, RAW):
        report = await _report(
            api_client,
            key,
            filter={
                **filter_extra,
                "createdFrom": (start - timedelta(days=2)).isoformat(),
                "createdBefore": (start + timedelta(days=1)).isoformat(),
            },
            groupBy=["CAMPAIGN"],
            bucket="DAY",
            tz="UTC",
        )
        assert [(r["bucket"], r["clicks"], r["revenue"]) for r in report["rows"]] == [
            ((start - timedelta(days=2)).isoformat(), 0, "0.000000"),
            ((start - timedelta(days=1)).isoformat(), 0, "0.000000"),
            (start.isoformat(), 4, "22.000000"),
        ]
        assert all(r["campaign"] == {"name": "Summer sale"} for r in report["rows"])
        assert report["rows"][0]["epc"] is None


async def test_having_order_and_first_keep_totals_whole(api_client: Client, traffic: Traffic):
    key = traffic.campaign.workspace.admin_api_key
    by_browser = await _report(
        api_client,
        key,
        groupBy=["BROWSER"],
        orderBy=[{"metric": "CLICKS", "direction": "DESC"}],
        first=1,
    )
    assert by_browser["source"] == "raw"
    assert by_browser["totalRows"] == 3
    assert [(r["browser"], r["clicks"]) for r in by_browser["rows"]] == [("Firefox", 2)]
    assert by_browser["totals"]["clicks"] == 4
    converting = await _report(
        api_client,
        key,
        groupBy=["BROWSER"],
        having=[{"metric": "CONVERSIONS", "comparison": "GTE", "value": 1}],
        orderBy=[{"dimension": "BROWSER", "direction": "ASC"}],
    )
    assert [(r["browser"], r["conversions"]) for r in converting["rows"]] == [
        ("Chrome", 1),
        ("Firefox", 1),
    ]
    assert converting["totals"]["clicks"] == 3
    # Money and ratios compare in currency units, from a rollup and from the raw tables: the
    # four clicks (no country from 127.0.0.1) brought 22.0 of revenue, 5.5 a click.
    for filter_ in ({}, RAW):
        for metric, value, kept in (("REVENUE", 21.9, 1), ("REVENUE", 22.1, 0), ("EPC", 5.4, 1)):
            having = [{"metric": metric, "comparison": "GT", "value": value}]
            by_country = await _report(
                api_client, key, filter=filter_, groupBy=["COUNTRY"], having=having
            )
            assert by_country["totalRows"] == kept, (by_country["source"], metric, value)
    subs = await _report(api_client, key, groupBy=["SUB1"], orderBy=[{"dimension": "SUB1"}])
    assert [(r["subs"], r["clicks"]) for r in subs["rows"]] == [
        ([{"index": 1, "value": "beta"}], 1),
        ([{"index": 1, "value": "alpha"}], 2),
        ([{"index": 1, "value": None}], 1),
    ]


async def test_only_selected_metrics_are_computed(api_client: Client, traffic: Traffic):
    app_engine: AsyncEngine = api_client.app.state.engine
    key = traffic.campaign.workspace.admin_api_key
    for selection, reads_events, reads_clicks in (
        ("clicks", False, True),
        ("transactions", True, False),
        ("epc", True, True),
    ):
        with statements(app_engine) as executed:
            body = await execute(api_client, key, f"{{ report {{ rows {{ {selection} }} }} }}")
        assert "errors" not in body, body
        sql = executed[-1]
        assert bool(re.search(r"rollup_\w+_events", sql)) is reads_events, selection
        assert bool(re.search(r"rollup_\w+_clicks", sql)) is reads_clicks, selection


async def test_bad_report_arguments_get_clear_errors(api_client: Client, traffic: Traffic):
    key = traffic.campaign.workspace.admin_api_key
    for variables, message in (
        ({"tz": "Mars/Olympus"}, "is not an IANA time zone"),
        ({"first": 0}, "first must be between 1 and 10000"),
        ({"orderBy": [{"dimension": "COUNTRY"}]}, "the report is not grouped by it"),
        ({"orderBy": [{"metric": "CLICKS", "bucket": True}]}, "exactly one of"),
        (
            {
                "bucket": "HOUR",
                "filter": {
                    "createdFrom": "2000-01-01T00:00:00Z",
                    "createdBefore": "2026-01-01T00:00:00Z",
                },
            },
            "more than 10000 hour buckets",
        ),
    ):
        body = await execute(api_client, key, REPORT, variables)
        assert message in body["errors"][0]["message"], (variables, body)


async def _spread_traffic(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign, start: datetime
) -> None:
    """Clicks over ten days at all hours, and events of every type and status."""
    rng = random.Random(7)
    async with engine.begin() as conn:
        await ensure_partitions(conn, since=start, until=start + timedelta(days=12))
    types = await conversion_type_ids(session, campaign.workspace_id)
    clicks: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for n in range(400):
        at = start + timedelta(minutes=rng.randrange(10 * 24 * 60))
        click_id, created_at = new_click_id(at)
        clicks.append(
            {
                "workspace_id": campaign.workspace_id,
                "created_at": created_at,
                "id": click_id,
                "campaign_id": campaign.campaign_id,
                "offer_id": rng.choice([campaign.offer_id, None]),
                "traffic_source_id": campaign.source_id,
                "country": rng.choice(["DE", "US", "FR", None]),
                "device_type": rng.choice(["mobile", "desktop"]),
                "os": rng.choice(["Android", "iOS", "Windows"]),
                "is_bot": n % 17 == 0,
                "is_unique": n % 3 != 0,
                "cost": rng.choice([0, "0.05", "0.123456"]),
            }
        )
        for m in range(rng.choice([0, 0, 0, 1, 2, 3])):
            type_name = "conversion" if m == 0 else "transaction"
            events.append(
                {
                    "workspace_id": campaign.workspace_id,
                    "click_created_at": created_at,
                    "click_id": click_id,
                    "type_id": types[type_name],
                    "txid": str(m),
                    "dedup_txid": "" if m == 0 else str(m),
                    "status": rng.choice(["approved", "approved", "pending", "declined"]),
                    "amount": rng.choice(["1.5", "10", "0.333333"]),
                    # As CPA or RevShare campaigns' events carry it.
                    "cost": rng.choice([0, "0.5", "1.234567"]),
                    "created_at": created_at + timedelta(hours=rng.randrange(72)),
                }
            )
    await session.execute(insert(Click), clicks)
    await session.execute(insert(ConversionEvent), events)
    # Their changes to the rollups, as ingestion writes them, left pending.
    click_changes, event_changes = ClickChanges(), EventChanges()
    by_id = {c["id"]: c for c in clicks}
    for c in clicks:
        click_changes.add(
            c["workspace_id"],
            c["created_at"],
            tuple(c.get(d) for d in DIMENSIONS),
            unique=c["is_unique"],
            bot=c["is_bot"],
            cost=Decimal(c["cost"]),
        )
    for e in events:
        event_changes.add(
            1,
            workspace_id=e["workspace_id"],
            click_created_at=e["click_created_at"],
            created_at=e["created_at"],
            dimensions=tuple(by_id[e["click_id"]].get(d) for d in DIMENSIONS),
            type_id=e["type_id"],
            status=ConversionStatus(e["status"]),
            amount=Decimal(e["amount"]),
            cost=Decimal(e["cost"]),
        )
    raw = await (await session.connection()).get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    await lock_shared(driver, [campaign.workspace_id])
    await click_changes.write(driver)
    await event_changes.write(driver)
    await session.commit()


async def test_rollups_and_raw_tables_give_the_same_numbers(
    api_client: Client, session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=11)
    await _spread_traffic(session, engine, campaign, start)
    key = campaign.workspace.admin_api_key
    # Local midnights in the workspace's zone: daily rollups answer where the zone is its own.
    berlin = ZoneInfo("Europe/Berlin")
    first_day = (start + timedelta(days=2)).astimezone(berlin).date()
    window = {
        "createdFrom": datetime.combine(first_day, time(), berlin).isoformat(),
        "createdBefore": datetime.combine(
            first_day + timedelta(days=7), time(), berlin
        ).isoformat(),
    }
    shapes: list[dict[str, Any]] = [
        {"groupBy": ["CAMPAIGN", "OFFER"], "bucket": "DAY", "tz": "Europe/Berlin"},
        {"groupBy": ["COUNTRY"], "bucket": "WEEK", "tz": "America/New_York"},
        {"groupBy": ["COUNTRY", "DEVICE_TYPE"], "bucket": "HOUR"},
        {"groupBy": ["COUNTRY", "TRAFFIC_SOURCE"], "bucket": "DAY"},
        {"groupBy": ["COUNTRY"], "bucket": "MONTH", "attribution": "CONVERSION_TIME"},
        {"groupBy": ["DEVICE_TYPE"], "attribution": "CONVERSION_TIME", "bucket": "DAY"},
        {"groupBy": [], "statuses": ["DECLINED", "APPROVED"]},
        {"groupBy": ["COUNTRY"], "filter": {"countries": ["DE", "US"], "deviceTypes": ["mobile"]}},
        {"groupBy": ["OFFER"], "bucket": "MONTH", "tz": "Asia/Tokyo"},
        {"groupBy": ["COUNTRY", "DEVICE_TYPE"], "filter": {"missing": ["COUNTRY"]}},
        {"groupBy": ["CAMPAIGN"], "bucket": "DAY", "filter": {"missing": ["OFFER"]}},
        {
            "groupBy": ["COUNTRY"],
            "bucket": "DAY",
            "having": [{"metric": "REVENUE", "comparison": "GT", "value": 1.5}],
            "orderBy": [{"metric": "EPC", "direction": "DESC"}, {"metric": "CPA"}],
        },
        {
            "groupBy": ["CAMPAIGN", "OFFER", "DEVICE_TYPE"],
            "bucket": "DAY",
            "having": [{"metric": "CLICKS", "comparison": "GTE", "value": 2}],
            "orderBy": [{"metric": "ROI", "direction": "ASC"}, {"dimension": "OFFER"}],
            "first": 7,
        },
    ]
    sources: set[str] = set()
    for shape in shapes:
        filter_ = {**window, **shape.pop("filter", {})}
        shape = {"first": 2_000, **shape}
        rollup = await _report(api_client, key, filter=filter_, **shape)
        raw = await _report(api_client, key, filter={**filter_, **RAW}, **shape)
        assert rollup["source"].startswith("rollup_"), shape
        sources.add(rollup["source"])
        assert raw["source"] == "raw"
        assert rollup["totals"]["clicks"] > 0
        assert rollup["rows"] == raw["rows"], shape
        assert rollup["totals"] == raw["totals"], shape
        assert rollup["totalRows"] == raw["totalRows"] >= len(rollup["rows"]), shape
    # Every rollup took part: daily ones in the workspace's zone, hourly ones elsewhere.
    assert sources == {f"rollup_{r.name}" for r in ROLLUPS}, sources


async def test_missing_matches_the_group_without_a_value(
    api_client: Client, session: AsyncSession, traffic: Traffic
):
    """The report's null group, drilled into: null and empty strings alike, nested in the
    drill-down's `and`, and `not` for the clicks that have a value."""
    campaign = traffic.campaign
    # Ingestion stores an empty sub as NULL; an empty string can still come from SQL or a tool.
    click_id, created_at = new_click_id(datetime.now(UTC))
    await session.execute(
        insert(Click),
        [
            {
                "workspace_id": campaign.workspace_id,
                "created_at": created_at,
                "id": click_id,
                "campaign_id": campaign.campaign_id,
                "sub1": "",
            }
        ],
    )
    await session.commit()
    key = campaign.workspace.admin_api_key
    grouped = await _report(api_client, key, groupBy=["SUB1"])
    by_sub1 = {_sub(row, 1): row["clicks"] for row in grouped["rows"]}
    assert by_sub1 == {"alpha": 2, "beta": 1, None: 1, "": 1}

    drilled = {"and": [{"campaignIds": [str(campaign.campaign_id)]}, {"missing": ["SUB1"]}]}
    report = await _report(api_client, key, filter=drilled, groupBy=["SUB2"])
    assert report["source"] == "raw"
    assert report["totals"]["clicks"] == 2  # the bot's click and the one with sub1 = ''
    assert [row["clicks"] for row in report["rows"]] == [2]

    both = await _report(api_client, key, filter={"missing": ["SUB1", "SUB2"]})
    assert both["totals"]["clicks"] == 2
    has_sub2 = await _report(api_client, key, filter={"not": {"missing": ["SUB2"]}})
    assert has_sub2["totals"]["clicks"] == 1  # the buyer
    # Dimensions a rollup holds keep the rollup: no click here has a country.
    no_country = await _report(api_client, key, filter={"missing": ["COUNTRY"]})
    assert no_country["source"].startswith("rollup_"), no_country
    assert no_country["totals"]["clicks"] == 4  # the rollups have not seen the SQL insert
    raw = await _report(api_client, key, filter={"missing": ["COUNTRY"], **RAW})
    assert raw["totals"]["clicks"] == 5
    offers = await _report(api_client, key, filter={"missing": ["OFFER"], **RAW})
    assert offers["totals"]["clicks"] == 1  # the click inserted without its offer


def _sub(row: dict[str, Any], index: int) -> str | None:
    return next((s["value"] for s in row["subs"] if s["index"] == index), None)


async def test_a_bad_missing_list_is_refused_with_a_clear_message(
    api_client: Client, traffic: Traffic
):
    key = traffic.campaign.workspace.admin_api_key
    for filter_, message in (
        ({"missing": []}, "missing names at least one dimension"),
        ({"missing": ["CAMPAIGN"]}, "every click has a campaign"),
        ({"not": {"missing": ["SUB1", "CAMPAIGN"]}}, "every click has a campaign"),
        ({"missing": ["SUB1"] * 1_001}, "missing takes at most 1000 values"),
        ({"missing": ["SUB21"]}, "SUB21"),
    ):
        body = await execute(api_client, key, REPORT, {"filter": filter_})
        assert message in body["errors"][0]["message"], (filter_, body)
        assert body.get("data") is None or body["data"].get("report") is None, body
    # Bytes no enum value has: a NUL, and text that is not UTF-8.
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    query = json.dumps(REPORT)
    for raw, message in (
        (b'{"missing": ["SUB1\\u0000"]}', "NUL character"),
        (b'{"missing": ["SUB1\xff\xfe"]}', "UTF-8"),
    ):
        sent = b'{"query": ' + query.encode() + b', "variables": {"filter": ' + raw + b"}}"
        response = await api_client.post("/graphql", content=sent, headers=headers)
        assert response.status_code == 400, response.text
        assert message in response.json()["errors"][0]["message"], response.text


async def test_half_hour_time_zones_fall_back_to_the_raw_tables(
    api_client: Client, traffic: Traffic
):
    key = traffic.campaign.workspace.admin_api_key
    kolkata = await _report(api_client, key, bucket="DAY", tz="Asia/Kolkata")
    assert kolkata["source"] == "raw"
    assert kolkata["totals"]["clicks"] == 4
    unaligned = await _report(api_client, key, filter={"createdFrom": "2026-01-01T00:30:00Z"})
    assert unaligned["source"] == "raw"


async def test_a_slow_report_stops_at_its_timeout_with_a_message(
    engine: AsyncEngine, settings: Settings, traffic: Traffic
):
    app = create_app(settings.model_copy(update={"report_timeout_ms": 200}))
    async with AsyncTestClient(app=app) as client, engine.connect() as blocker:
        # A report waiting on a lock is as slow as one scanning for minutes.
        await blocker.execute(
            text("LOCK TABLE rollup_campaign_daily_clicks IN ACCESS EXCLUSIVE MODE")
        )
        body = await execute(
            client, traffic.campaign.workspace.admin_api_key, "{ report { totals { clicks } } }"
        )
        await blocker.rollback()
    assert "the report took longer than 200 ms" in body["errors"][0]["message"], body


async def test_another_workspace_reports_nothing_of_this_one(
    api_client: Client, session: AsyncSession, traffic: Traffic
):
    other = await create_workspace(session, name="Other")
    await session.commit()
    campaign_id = str(traffic.campaign.campaign_id)
    for filter_ in ({"campaignIds": [campaign_id]}, {**RAW, "campaignIds": [campaign_id]}):
        report = await _report(
            api_client, other.admin_api_key, filter=filter_, groupBy=["CAMPAIGN"]
        )
        assert (report["rows"], report["totals"]["clicks"]) == ([], 0)


async def test_the_table_holds_the_rows_as_arrays(api_client: Client, traffic: Traffic):
    key = traffic.campaign.workspace.admin_api_key
    start, end = _today()
    body = await execute(
        api_client,
        key,
        """
        query ($filter: ClickFilter) {
          report(filter: $filter, groupBy: [CAMPAIGN, SUB1], timeBucket: DAY, timezone: "UTC",
                 orderBy: [{dimension: SUB1, direction: ASC}]) {
            table { columns rows }
            rows { bucket subs { value } clicks revenue epc cr }
          }
        }
        """,
        {"filter": {"createdFrom": start, "createdBefore": end}},
    )
    report = body["data"]["report"]
    columns = report["table"]["columns"]
    assert columns[:3] == ["bucket", "campaignId", "sub1"]
    assert columns[3:] == [
        "clicks", "uniqueClicks", "botClicks", "conversions", "transactions", "revenue",
        "cost", "profit", "roi", "cr", "epc", "cpa",
    ]  # fmt: skip
    table = [dict(zip(columns, values, strict=True)) for values in report["table"]["rows"]]
    assert [(t["sub1"], t["clicks"], t["revenue"]) for t in table] == [
        (None, 1, "0.000000"),
        ("alpha", 2, "20.000000"),
        ("beta", 1, "2.000000"),
    ]
    assert all(t["campaignId"] == traffic.campaign.campaign_id for t in table)
    for t, row in zip(table, report["rows"], strict=True):
        assert t["bucket"] == row["bucket"] == start
        assert (t["epc"], t["cr"]) == (row["epc"], row["cr"])


TABLE_OR_ROWS = """
query ($filter: ClickFilter, $groupBy: [ReportDimension!], $bucket: TimeBucket, $tz: String,
       $rows: Boolean!) {
  report(filter: $filter, groupBy: $groupBy, timeBucket: $bucket, timezone: $tz) {
    table @skip(if: $rows) { columns rows }
    rows @include(if: $rows) {
      bucket campaign { id } offer { id } trafficSource { id } country deviceType os browser
      subs { index value }
      clicks uniqueClicks botClicks conversions transactions revenue cost profit roi cr epc cpa
    }
  }
}
"""


def _cell(row: dict[str, Any], column: str) -> Any:
    """What a table column holds, read from a row of `rows`."""
    if column in ("campaignId", "offerId", "trafficSourceId"):
        reference = row[column.removesuffix("Id")]
        return None if reference is None else int(reference["id"])
    if re.fullmatch(r"sub\d+", column):
        return {f"sub{sub['index']}": sub["value"] for sub in row["subs"]}[column]
    return row[column]


async def test_the_table_alone_holds_what_the_rows_hold(api_client: Client, traffic: Traffic):
    # Asked for without `rows`, the table is built from the statement's rows directly.
    key = traffic.campaign.workspace.admin_api_key
    start, end = _today()
    for group_by, bucket, tz in (
        (["CAMPAIGN", "SUB1"], "DAY", "UTC"),
        (["COUNTRY", "DEVICE_TYPE", "OS", "BROWSER", "OFFER", "TRAFFIC_SOURCE"], None, "UTC"),
        (["SUB2", "SUB1"], "HOUR", "Asia/Kolkata"),
        ([], "DAY", "America/New_York"),
    ):
        variables = {
            "filter": {"createdFrom": start, "createdBefore": end},
            "groupBy": group_by,
            "bucket": bucket,
            "tz": tz,
        }
        table = await execute(api_client, key, TABLE_OR_ROWS, {**variables, "rows": False})
        rows = await execute(api_client, key, TABLE_OR_ROWS, {**variables, "rows": True})
        assert "errors" not in table, table
        assert "errors" not in rows, rows
        columns = table["data"]["report"]["table"]["columns"]
        expected = [[_cell(row, c) for c in columns] for row in rows["data"]["report"]["rows"]]
        assert table["data"]["report"]["table"]["rows"] == expected, group_by
        assert expected, group_by


async def test_reports_are_the_same_before_and_after_compaction(
    api_client: Client, session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
    await _spread_traffic(session, engine, campaign, start)
    key = campaign.workspace.admin_api_key
    shape = {"groupBy": ["CAMPAIGN", "COUNTRY"], "bucket": "DAY", "first": 2_000}
    before = await _report(api_client, key, **shape)
    async with engine.begin() as conn:
        assert (await compact_rollups(conn)).changed > 0
    for table in (CLICKS_PENDING, EVENTS_PENDING):
        assert await session.scalar(text(f"SELECT count(*) FROM {table}")) == 0, table
    after = await _report(api_client, key, **shape)
    assert before["source"] == after["source"] == "rollup_full_daily"
    assert before == after


async def test_total_count_of_clicks_comes_from_a_rollup_when_one_holds_the_filter(
    api_client: Client, session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=5)
    await _spread_traffic(session, engine, campaign, start)
    berlin = ZoneInfo("Europe/Berlin")
    day = (start + timedelta(days=1)).astimezone(berlin).date()
    filters: list[dict[str, Any]] = [
        {},
        {"campaignIds": [str(campaign.campaign_id)], "countries": ["DE", "US"]},
        {
            "createdFrom": datetime.combine(day, time(), berlin).isoformat(),
            "createdBefore": datetime.combine(day + timedelta(days=2), time(), berlin).isoformat(),
            "deviceTypes": ["mobile"],
        },
    ]
    query = "query ($f: ClickFilter) { clicks(filter: $f, first: 1) { totalCount } }"
    app_engine: AsyncEngine = api_client.app.state.engine
    for filter_ in filters:
        with statements(app_engine) as executed:
            body = await execute(
                api_client, campaign.workspace.admin_api_key, query, {"f": filter_}
            )
        assert any("rollup_" in sql for sql in executed), filter_
        raw = await execute(
            api_client, campaign.workspace.admin_api_key, query, {"f": {**filter_, **RAW}}
        )
        counted = body["data"]["clicks"]["totalCount"]
        assert counted == raw["data"]["clicks"]["totalCount"] > 0, filter_


@pytest.mark.parametrize(
    ("sums", "expected"),
    [
        # 10 / 3 per click, 0.15 / 4 per conversion: rounded to the millionth.
        (
            {"clicks": 3, "conversions": 4, "revenue": 10_000_000, "cost": 150_000},
            {"epc": "3.333333", "cpa": "0.037500", "profit": "9.850000"},
        ),
        # Halves go to the even millionth, below zero too (refunds make revenue negative).
        ({"clicks": 2, "revenue": 1}, {"epc": "0.000000", "revenue": "0.000001"}),
        ({"clicks": 2, "revenue": 3}, {"epc": "0.000002"}),
        ({"clicks": 2, "revenue": -3}, {"epc": "-0.000002", "profit": "-0.000003"}),
        ({"clicks": 0, "conversions": 0}, {"epc": None, "cpa": None, "cost": "0.000000"}),
        # Past a float's 15-16 digits.
        (
            {"clicks": 1, "revenue": 99_999_999_999_999_999_999},
            {"revenue": "99999999999999.999999", "epc": "99999999999999.999999"},
        ),
    ],
)
def test_money_metrics_are_exact_decimals_of_millionths(sums, expected):
    metrics = {k: v if v is None else str(v) for k, v in _metrics(sums).items()}
    assert {k: metrics[k] for k in expected} == expected


async def test_a_workspace_deleted_after_its_key_was_read_is_a_refusal(engine: AsyncEngine):
    """The door reads a key, then runs the report on another connection: a workspace deleted in
    between (its keys with it) is refused in words, not an assertion's 500."""
    gone = 2**62
    report = service.report(
        engine,
        workspace_id=gone,
        timeout_ms=1000,
        filter_=None,
        group_by=(),
        time_bucket=None,
        timezone=None,
        attribution=ReportAttribution.CLICK_TIME,
        statuses=None,
        order_by=(),
        having=(),
        first=None,
        metrics={"clicks"},
    )
    with pytest.raises(QueryInputError, match="workspace no longer exists"):
        await report
    count = service.count_clicks(engine, workspace_id=gone, filter_=None, timeout_ms=1000)
    with pytest.raises(QueryInputError, match="workspace no longer exists"):
        await count
