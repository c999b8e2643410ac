"""Report documents answered by the compiled path are byte for byte the normal path's.

The corpus runs on two workspaces, one with eleven days of traffic over both daylight-saving
changes of October and November 2026 (Europe's and America's), custom conversion types, subs,
huge and negative amounts; the other with nothing.
"""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import insert, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from api.catalog.service import create_conversion_type
from api.dimensions import ReportDimension
from api.reports.money import (
    divided,
    money,
    money_of_texts,
    money_per,
    money_text,
    money_texts,
)
from api.workspaces.service import NewWorkspace, create_workspace
from models import ApiKey, Click, ConversionEvent
from models.click_ids import new_click_id
from models.enums import DuplicatePolicy
from models.partitions import ensure_partitions
from models.rollups import rebuild_rollups
from models.settings import Settings
from tests.api.conftest import conversion_type_ids, statements
from tests.api.graphql import client_with
from tests.api.test_compiled import Case, _both, answered, clients  # noqa: F401
from tests.api.test_report import _spread_traffic
from tests.ingestion.conftest import TrackedCampaign

Client = AsyncTestClient[Litestar]

START = datetime(2026, 10, 23, tzinfo=UTC)
FIGURES = (
    "clicks uniqueClicks botClicks conversions transactions revenue cost profit roi cr epc cpa "
    "forwarded forwardFailed"
)
ROW = f"""
__typename bucket country deviceType os browser subs {{ __typename index value }} {FIGURES}
byType {{ __typename type count revenue }}
"""
REFERENCES = """
campaign { __typename id key name costModel costValue attributionWindowDays status createdAt }
offer { __typename id name url payout currency status createdAt }
trafficSource { __typename id name clickIdParam status createdAt }
"""
REPORT = f"""
query Report($filter: ClickFilter, $groupBy: [ReportDimension!], $bucket: TimeBucket,
             $tz: String, $attribution: ReportAttribution, $statuses: [ConversionStatus!],
             $orderBy: [ReportOrder!], $having: [ReportCondition!], $first: Int) {{
  report(filter: $filter, groupBy: $groupBy, timeBucket: $bucket, timezone: $tz,
         attribution: $attribution, statuses: $statuses, orderBy: $orderBy, having: $having,
         first: $first) {{
    __typename source totalRows
    rows {{ {ROW} {REFERENCES} }}
    totals {{ {ROW} {REFERENCES} }}
  }}
}}
"""
TABLE = """
query Table($filter: ClickFilter, $groupBy: [ReportDimension!], $bucket: TimeBucket,
            $tz: String, $first: Int) {
  report(filter: $filter, groupBy: $groupBy, timeBucket: $bucket, timezone: $tz, first: $first) {
    table { __typename columns rows }
    totalRows source
  }
}
"""
# The days of the traffic, local to Berlin (the clocks went back on 25 October).
BERLIN = {"createdFrom": "2026-10-23T00:00:00+02:00", "createdBefore": "2026-11-04T00:00:00+01:00"}
# Matches every click, but no rollup holds the bot flag: the raw tables.
RAW = {"or": [{"isBot": True}, {"isBot": False}]}
EMPTY = {"createdFrom": "2030-01-01T00:00:00Z", "createdBefore": "2030-01-04T00:00:00Z"}


def _report(compiled: bool = True, **variables: Any) -> Case:
    return Case(REPORT, variables, compiled=compiled)


CORPUS = [
    _report(),
    _report(filter=BERLIN, bucket="DAY", tz="Europe/Berlin"),
    _report(filter=BERLIN, groupBy=["CAMPAIGN", "COUNTRY", "SUB1"], bucket="HOUR", tz="UTC"),
    _report(filter=BERLIN, groupBy=["OFFER"], bucket="HOUR", tz="America/New_York"),
    _report(filter={**BERLIN, **RAW}, groupBy=["COUNTRY"], bucket="DAY", tz="America/New_York"),
    _report(filter=BERLIN, groupBy=["DEVICE_TYPE"], bucket="WEEK", tz="Asia/Kathmandu"),
    _report(filter=BERLIN, groupBy=["OS"], bucket="MONTH", tz="Australia/Lord_Howe"),
    _report(filter=RAW, groupBy=["BROWSER", "SUB2", "SUB20"]),
    _report(groupBy=["CAMPAIGN", "CAMPAIGN", "TRAFFIC_SOURCE"], attribution="CONVERSION_TIME"),
    _report(groupBy=["COUNTRY"], statuses=[]),
    _report(groupBy=["COUNTRY"], statuses=["DECLINED"], attribution="CONVERSION_TIME"),
    _report(
        groupBy=["COUNTRY", "DEVICE_TYPE"],
        orderBy=[{"metric": "ROI", "direction": "ASC"}, {"dimension": "COUNTRY"}],
        having=[{"metric": "CR", "comparison": "GT", "value": 10}],
        first=2,
    ),
    _report(
        filter=BERLIN,
        groupBy=["OS"],
        bucket="DAY",
        orderBy=[{"bucket": True, "direction": "DESC"}, {"metric": "EPC"}],
        having=[{"metric": "REVENUE", "comparison": "LT", "value": 1e15}],
        first=5,
    ),
    # Over the cost limit (a page multiplies its selection's cost): the normal path refuses.
    _report(compiled=False, first=10_000),
    _report(groupBy=["SUB1"], first=1),
    _report(filter={"countries": ["DE", "FR"], "subs": [{"index": 1, "values": ["s1"]}]}),
    _report(filter={"campaignIds": ["0"]}, groupBy=["CAMPAIGN"]),
    # Nothing in the range: zeros in every bucket, and no rows without buckets.
    _report(filter=EMPTY, bucket="DAY", tz="Europe/Berlin"),
    _report(filter=EMPTY, groupBy=["COUNTRY"]),
    _report(having=[{"metric": "CLICKS", "comparison": "GT", "value": 1e300}]),
    # Refused: the normal path says why.
    _report(compiled=False, first=0),
    _report(compiled=False, first=10_001),
    _report(compiled=False, tz="Mars/Olympus"),
    _report(compiled=False, orderBy=[{"dimension": "COUNTRY"}]),
    _report(
        compiled=False,
        bucket="HOUR",
        filter={"createdFrom": "2000-01-01T00:00:00Z", "createdBefore": "2026-01-01T00:00:00Z"},
    ),
    _report(compiled=False, filter={"subs": [{"index": 0, "values": ["x"]}]}),
    Case(TABLE, {"filter": BERLIN, "groupBy": ["SUB1", "COUNTRY"], "bucket": "DAY", "tz": "UTC"}),
    Case(TABLE, {"groupBy": ["CAMPAIGN", "OFFER", "TRAFFIC_SOURCE"], "first": 3}),
    Case(TABLE, {"filter": EMPTY}),
    Case(TABLE, {"filter": RAW, "groupBy": ["SUB1", "BROWSER"], "bucket": "HOUR", "first": 10_000}),
    Case(
        """
        fragment F on ReportRow { c: clicks roi ... on ReportRow { cpa } }
        query Named { r: report(groupBy: [CAMPAIGN]) {
          a: rows { ...F campaign { n: name __typename } }
          b: rows { cost campaign { id } }
          totals { ...F campaign { name } }
          __typename
          t: table { rows }
        } }
        query Other { report { totals { clicks } } }
        """,
        operation_name="Named",
    ),
    Case("{ report { totals { byType { type count revenue } } } }"),
    Case("{ report(groupBy: [SUB3]) { rows { subs { value } } } }"),
    Case("{ __typename clicks(first: 2) { nodes { id } } report { totals { clicks } } }"),
    # What the compiled path leaves alone.
    Case("{ report { rows { campaign { trafficSource { name } } } } }", compiled=False),
    Case("{ report { rows @include(if: true) { clicks } } }", compiled=False),
    Case("{ report { totals { clicks } } clicks { totalCount } }", compiled=False),
]
CORPUS += [
    _report(filter=BERLIN, groupBy=[dimension.name], bucket="DAY", tz="Europe/Berlin")
    for dimension in ReportDimension
]


@pytest.fixture
async def reported(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
) -> TrackedCampaign:
    """Eleven days of spread traffic, and clicks with subs, browsers, custom events."""
    await _spread_traffic(session, engine, campaign, START)
    ws = campaign.workspace_id
    async with engine.begin() as conn:
        await ensure_partitions(conn, since=START, until=START + timedelta(days=12))
    for name, counts_as_conversion, counts_in_revenue in (
        ("signup", True, False),
        ("upsell", False, True),
    ):
        await create_conversion_type(
            session,
            workspace_id=ws,
            name=name,
            counts_as_conversion=counts_as_conversion,
            counts_in_revenue=counts_in_revenue,
            duplicate_policy=DuplicatePolicy.IGNORE,
        )
    types = await conversion_type_ids(session, ws)
    clicks, events = [], []
    for n in range(30):
        click_id, created_at = new_click_id(START + timedelta(hours=9 * n, minutes=n))
        clicks.append(
            {
                "workspace_id": ws,
                "created_at": created_at,
                "id": click_id,
                "campaign_id": campaign.campaign_id,
                "offer_id": campaign.offer_id,
                "traffic_source_id": campaign.source_id,
                "country": ["DE", "FR", None][n % 3],
                "browser": ["Chrome", "Firefox"][n % 2],
                "sub1": f"s{n % 4}",
                "sub2": None if n % 5 else "x",
                "sub20": "last" if n % 7 == 0 else None,
                "cost": Decimal("0.000001") * n,
            }
        )
        type_name, amount = [
            ("signup", "3"),
            ("upsell", "999999999999.999999"),
            ("conversion", "-1"),
            ("transaction", "0.000001"),
        ][n % 4]
        events.append(
            {
                "workspace_id": ws,
                "click_created_at": created_at,
                "click_id": click_id,
                "type_id": types[type_name],
                "txid": f"t{n}",
                "dedup_txid": f"t{n}",
                "status": ["approved", "pending", "declined"][n % 3],
                "amount": Decimal(amount),
                "cost": Decimal("0.333333"),
                "created_at": created_at + timedelta(days=n % 3),
            }
        )
    await session.execute(insert(Click), clicks)
    await session.execute(insert(ConversionEvent), events)
    await session.commit()
    # Hand-made rows reach the rollups by a rebuild.
    async with engine.begin() as conn:
        await rebuild_rollups(conn, workspace_id=ws)
    return campaign


@pytest.mark.parametrize("path", ["controller", "door"])
@pytest.mark.parametrize("case", CORPUS, ids=[str(n) for n in range(len(CORPUS))])
async def test_report_documents_answer_as_on_the_normal_path(
    reported: TrackedCampaign,
    session: AsyncSession,
    clients: tuple[Client, Client],  # noqa: F811
    answered: list[str],  # noqa: F811
    case: Case,
    path: str,
):
    content = await _both(clients, reported.workspace.admin_api_key, case, answered, path=path)
    if case.compiled:
        assert b'"errors"' not in content
    # Tenants are walls: another workspace's answers hold none of this one's figures.
    other: NewWorkspace = await create_workspace(session, name="Other")
    await session.commit()
    content = await _both(clients, other.admin_api_key, case, answered, path=path)
    if case.compiled:
        assert not re.search(rb'"(clicks|conversions|transactions)":[1-9]', content), content
        assert set(re.findall(rb'"-?[0-9]+\.[0-9]{6}"', content)) <= {b'"0.000000"'}, content


async def test_the_corpus_has_figures_to_compare(
    reported: TrackedCampaign,
    clients: tuple[Client, Client],  # noqa: F811
    answered: list[str],  # noqa: F811
):
    """The comparison is worth something only if the answers hold what they should."""
    content = await _both(
        clients, reported.workspace.admin_api_key, CORPUS[1], answered, path="controller"
    )
    report = msgspec.json.decode(content)["data"]["report"]
    # Twelve Berlin days, 23 October to 3 November, each a row.
    assert len(report["rows"]) == 12
    assert report["rows"][2]["bucket"] == "2026-10-25T00:00:00+02:00"
    assert report["rows"][3]["bucket"] == "2026-10-26T00:00:00+01:00"
    totals = report["totals"]
    assert totals["clicks"] == 430
    assert {t["type"] for t in totals["byType"]} >= {"signup", "upsell"}
    assert isinstance(totals["roi"], float)


@pytest.mark.parametrize(
    "micros",
    [0, 1, -1, 5, -5, 999_999, 1_000_000, -1_000_000, 123_456_789, -(10**30) - 7, 10**40 + 1],
)
def test_money_text_is_the_decimal_scalar_text(micros: int):
    assert money_text(micros) == str(money(micros))


def test_money_columns_are_written_as_each_value_alone():
    """The compiled path's column-wide money: the normal path's figures, tie, sign and size."""
    values = [0, 1, -1, 7, -7, 999_999, -1_000_000, 10**26, -(10**26), 10**27, -(10**30) - 7]
    divisors = [0, 1, -3, 2, 4, 3, 1_000_000, 7, 2, 10**6, 5]
    assert money_texts(values[:-2]) == [money_text(v) for v in values[:-2]]
    assert money_texts(values) == [money_text(v) for v in values]
    texts = [str(v) for v in [*values, 123_456_789, 10**26 + 1, 10**27 - 1, 10**40 + 1]]
    assert money_of_texts(texts) == [money_text(int(t)) for t in texts]
    for dividends in (values, [2 * v + 1 for v in values], [v * 3 for v in values]):
        assert money_per(dividends, divisors) == [
            money_text(divided(d, k)) if k else None
            for d, k in zip(dividends, divisors, strict=True)
        ]
    # Halves (2.5, 3.5, -2.5, -3.5 millionths) go to the even neighbour.
    halves = money_per([5, 7, -5, -7], [2, 2, 2, 2])
    assert halves == ["0.000002", "0.000004", "-0.000002", "-0.000004"]


@pytest.mark.parametrize("path", ["controller", "door"])
async def test_a_report_cut_off_by_its_timeout_runs_once(
    reported: TrackedCampaign,
    settings: Settings,
    engine: AsyncEngine,
    answered: list[str],  # noqa: F811
    path: str,
):
    """The compiled path leaves the refusal to the executor, which answers with it rather
    than waiting for the timeout a second time; so does the door, in front of the controller,
    which then runs no report on the compiled path again."""
    changes = {"api_rate_limit_per_minute": 0, "report_timeout_ms": 300}
    case = Case("{ report { totals { clicks } } }", compiled=False)
    async with (
        client_with(settings, api_compiled_reads=True, **changes) as compiled,
        client_with(settings, api_compiled_reads=False, **changes) as normal,
        engine.connect() as blocker,
    ):
        # A report waiting on a lock is as slow as one scanning for minutes.
        await blocker.execute(
            text("LOCK TABLE rollup_campaign_daily_clicks IN ACCESS EXCLUSIVE MODE")
        )
        key = reported.workspace.admin_api_key
        if path == "door":
            # The controller's key lookup puts the key into the directory that the door reads.
            warm = {"query": "{ __typename }"}
            await compiled.post("/graphql", json=warm, headers={"Authorization": f"Bearer {key}"})
        with statements(compiled.app.state.engine) as executed:
            content = await _both((compiled, normal), key, case, answered, path=path)
        await blocker.rollback()
    assert b"the report took longer than 300 ms" in content
    assert len([s for s in executed if "total_rows" in s]) == 1, executed


async def test_a_key_revoked_after_the_directory_read_it_gets_no_report(
    reported: TrackedCampaign,
    session: AsyncSession,
    clients: tuple[Client, Client],  # noqa: F811
    answered: list[str],  # noqa: F811
):
    """A document of reports only has its key read by a statement of its own at the door."""
    key = reported.workspace.admin_api_key
    case = Case("{ report(groupBy: [COUNTRY]) { rows { country clicks revenue } } }")
    await _both(clients, key, case, answered, path="door")
    await session.execute(
        update(ApiKey)
        .where(col(ApiKey.workspace_id) == reported.workspace_id)
        .values(revoked_at=datetime.now(UTC))
    )
    await session.commit()
    content = await _both(clients, key, Case(case.query, compiled=False), answered, path="door")
    assert b"API key is unknown or revoked" in content
