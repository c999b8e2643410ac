"""The compiled read path answers byte for byte what the normal executor answers.

Every document of the corpus goes to two apps on the same data, one with the compiled path
on and one with it off, and the HTTP status and body bytes must be the same. The documents
marked compiled must be answered by the compiled path (or the comparison would compare the
normal path with itself); the others, errors included, are left to the normal path.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from graphql import get_variable_values
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from api.catalog.service import create_campaign
from api.compiled import sql
from api.compiled.plan import ClicksField
from api.compiled.reads import CompiledReads, statement
from api.outage import DatabaseOutage
from api.schema import build_schema
from api.workspaces.credentials import hash_api_key
from api.workspaces.service import NewWorkspace, create_workspace
from models import ApiKey, Click, ConversionEvent, ConversionType
from models.click_ids import new_click_id
from models.database import driver_connection
from models.enums import CostModel, DuplicatePolicy
from models.partitions import ensure_partitions
from models.settings import Settings
from tests.api.conftest import conversion_type_ids
from tests.api.database_proxy import database_proxy
from tests.api.graphql import client_with
from tests.ingestion.conftest import TrackedCampaign

Client = AsyncTestClient[Litestar]

CLICK_FIELDS = (
    "__typename id createdAt userAgent deviceType os browser isBot isUnique country referrer "
    "externalId cost subs params"
)
EVENT_FIELDS = (
    "__typename id type txid status amount originalAmount originalCurrency cost createdAt "
    "updatedAt secondsFromClick countsAsConversion countsInRevenue params clickId"
)
PAGE = """
query Page($first: Int, $after: String, $order: ClickOrder!, $types: [String!],
           $statuses: [ConversionStatus!]) {
  clicks(first: $first, after: $after, orderBy: $order) {
    __typename
    pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
    edges { __typename cursor node { id createdAt events(types: $types, statuses: $statuses) {
      id type status } } }
  }
}
"""


@dataclass(frozen=True)
class Case:
    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    # Answered by the compiled path; otherwise by the normal one.
    compiled: bool = True


CORPUS = [
    Case(
        "query Flat { clicks(first: 100) { nodes { id createdAt country deviceType os browser "
        "isBot cost } } }"
    ),
    Case(f"{{ clicks {{ nodes {{ {CLICK_FIELDS} }} }} }}"),
    Case(
        f"{{ clicks(first: 3) {{ nodes {{ id conversions {{ {EVENT_FIELDS} }} transactions {{ "
        f"{EVENT_FIELDS} }} events {{ {EVENT_FIELDS} }} }} }} }}"
    ),
    Case(
        '{ clicks { nodes { id a: events(types: ["transaction", "deposit"], statuses: '
        "[APPROVED, DECLINED, OTHER]) { id txid } b: events(types: []) { id } c: "
        "events(statuses: []) { id } d: events(statuses: [PENDING]) { txid amount } } } }"
    ),
    Case(
        "{ __typename first: clicks(first: 1) { nodes { id } } second: clicks(first: 3, "
        "orderBy: OLDEST_FIRST) { edges { cursor } pageInfo { endCursor } } }"
    ),
    Case(
        "{ clicks(first: 2) { nodes { id } nodes { country } n: nodes { ... on Click { id "
        "when: createdAt } ... { subs } } } }"
    ),
    Case(
        """
        query Fragments { clicks(first: 4) { ...Connection } }
        fragment Connection on ClickConnection {
          pageInfo { ...Info } edges { node { ...Row ...More } }
        }
        fragment Info on PageInfo { hasNextPage endCursor }
        fragment Row on Click { id ...More transactions { ...Event } }
        fragment More on Click { cost country }
        fragment Event on ConversionEvent { txid status }
        """
    ),
    Case(
        "query A { clicks(first: 1) { nodes { id } } } query B { clicks(first: 2) { nodes { "
        "cost } } }",
        operation_name="B",
    ),
    Case("query ($first: Int) { clicks(first: $first) { nodes { id } } }", {"first": None}),
    # The click's campaign, offer and source (rows[1] has neither offer nor source).
    Case(
        "{ clicks { nodes { id campaign { __typename id key name costModel costValue "
        "attributionWindowDays status createdAt } offer { id name url payout currency status "
        "createdAt } trafficSource { id name clickIdParam status createdAt } } } }"
    ),
    # bench/api_reads.py's page.
    Case(
        """
        query Page($filter: ClickFilter!) {
          clicks(filter: $filter, first: 100) {
            nodes {
              id createdAt country deviceType os browser subs cost
              campaign { name } offer { name } trafficSource { name }
              conversions { type txid status amount createdAt secondsFromClick }
              transactions { txid amount status }
            }
          }
        }
        """,
        {"filter": {"createdBefore": "2999-01-01T00:00:00+01:00"}},
    ),
    # Without numbers (api.compiled.sql.NUMBERS): PostgreSQL's JSON is sent as it wrote it.
    Case(
        f"{{ clicks {{ nodes {{ {CLICK_FIELDS.replace(' params', '')} campaign {{ name "
        "attributionWindowDays costValue } events { id type txid status amount originalAmount "
        "originalCurrency cost createdAt updatedAt countsAsConversion countsInRevenue clickId } "
        "} pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"
    ),
    Case("{ clicks { nodes { campaign { name trafficSource { name } } } } }", compiled=False),
    # Filters: the normal path's SQL for the page, inside the compiled statement.
    Case('{ clicks(filter: {countries: ["D", "DE"]}) { nodes { id country } } }'),
    Case(
        "query ($filter: ClickFilter, $after: String) { clicks(filter: $filter, first: 2, "
        "after: $after) { pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id "
        "events(statuses: [APPROVED]) { txid } } } }",
        {
            "filter": {
                "isBot": False,
                "or": [{"hasConversion": True}, {"not": {"subs": [{"index": 2, "values": []}]}}],
                "eventStatuses": None,
            },
            "after": None,
        },
    ),
    Case(
        "query ($filter: ClickFilter) { clicks(filter: $filter) { nodes { id } } }",
        {"filter": {"eventTypes": ["deposit", "transaction"], "eventStatuses": ["OTHER"]}},
    ),
    Case(
        "query ($filter: ClickFilter) { clicks(filter: $filter, orderBy: OLDEST_FIRST) { "
        "edges { cursor } } }",
        {"filter": {"hasTransaction": True, "and": [{"countries": []}], "oses": None}},
    ),
    Case(
        "{ clicks(filter: {missing: [OS, SUB2], not: {missing: [COUNTRY]}}) { nodes { id os "
        "country subs } } }"
    ),
    Case('{ clicks(filter: {campaignIds: ["1", "x"]}) { nodes { id } } }', compiled=False),
    Case(
        "{ clicks(filter: {not: {not: {not: {not: {not: {not: {isBot: true}}}}}}}) { nodes { id "
        "} } }",
        compiled=False,
    ),
    Case(
        '{ clicks(filter: {subs: [{index: 21, values: ["a"]}]}) { nodes { id } } }', compiled=False
    ),
    # Left to the normal path: errors, and fields the compiled path does not write.
    Case("{ clicks(first: 0) { nodes { id } } }", compiled=False),
    Case("{ clicks(first: 1001) { nodes { id } } }", compiled=False),
    Case('{ clicks(after: "no cursor") { nodes { id } } }', compiled=False),
    Case(
        "query ($first: Int) { clicks(first: $first) { nodes { id } } }",
        {"first": "x"},
        compiled=False,
    ),
    Case("{ clicks { totalCount nodes { id } } }", compiled=False),
    Case("{ clicks { nodes { id ip campaign { name } } } }", compiled=False),
    Case(
        "query ($all: Boolean!) { clicks { nodes { id country @include(if: $all) } } }",
        {"all": False},
        compiled=False,
    ),
    Case("query A { clicks { nodes { id } } } query B { __typename }", compiled=False),
    Case("{ clicks { nodes { id nosuchfield } } }", compiled=False),
    Case("{ clicks { nodes { id ", compiled=False),
    Case("{ workspace { name } clicks { nodes { id } } }", compiled=False),
]


@pytest.fixture
async def clicks(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
) -> TrackedCampaign:
    """Clicks and events with every kind of value: nulls, text to escape, gaps in the subs,
    times with and without microseconds, clicks of the same millisecond, custom types."""
    await seed(session, engine, campaign)
    return campaign


async def seed(session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign) -> None:
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    async with engine.begin() as conn:
        await ensure_partitions(conn, since=now - timedelta(days=2), until=now)
    ws = campaign.workspace_id
    session.add(
        ConversionType(
            workspace_id=ws,
            name="deposit",
            counts_as_conversion=True,
            counts_in_revenue=False,
            duplicate_policy=DuplicatePolicy.NEW_PER_TXID,
        )
    )
    await session.commit()
    types = await conversion_type_ids(session, ws)
    base = {
        "workspace_id": ws,
        "campaign_id": campaign.campaign_id,
        "offer_id": campaign.offer_id,
        "traffic_source_id": campaign.source_id,
    }
    rows: list[dict[str, Any]] = []
    times = [now - timedelta(minutes=n, microseconds=(n % 3) * 123_456) for n in range(9)]
    times += [times[4]]  # two clicks of the same millisecond: ordered by id
    # Fractions that isoformat writes in full: .100000, .000001 (and .000000 is left out).
    times[6] = times[6].replace(microsecond=100_000)
    times[7] = times[7].replace(microsecond=1)
    for n, at in enumerate(times):
        click_id, created_at = new_click_id(at)
        rows.append({**base, "id": click_id, "created_at": created_at, "cost": Decimal(n) / 7})
    rows[0].update(
        ip="2001:db8::1",
        user_agent='Mozilla/5.0 "quoted" \\ back \u00fc \u2028 \U0001f600',
        device_type="mobile",
        os="Android",
        browser="Chrome",
        is_bot=True,
        is_unique=False,
        country="D",
        referrer="https://example.com/?a=1&b=\x01\t\n",
        external_id="ext-1",
        cost=Decimal("0.050000"),
        sub1="a",
        sub3="c",
        params={
            "q": "\u00fc",
            "n": 1.5,
            "big": 12345678901234567890,
            "tiny": 1e-7,
            "nested": {"b": [1, None, True, "x"]},
            "": "",
        },
    )
    rows[1].update(sub20="last", params={"sub1": None}, offer_id=None, traffic_source_id=None)
    rows[2].update(sub2="only-two")
    await session.execute(insert(Click), rows)
    events = []
    event_rows: list[tuple[dict[str, Any], str, str, str, dict[str, Any]]] = [
        (rows[0], "conversion", "", "approved", {"amount": Decimal("10.5")}),
        (
            rows[0],
            "transaction",
            "t1",
            "pending",
            {"original_amount": Decimal("9.99"), "original_currency": "USD"},
        ),
        (rows[0], "transaction", "t2", "declined", {"amount": Decimal("-1")}),
        (rows[0], "deposit", 'd"1\\\x02\x7f\u00e9\u2028', "other", {"params": {"k": "\u00e9\x02"}}),
        (rows[3], "conversion", "", "pending", {"amount": Decimal("999999999999.999999")}),
        (rows[3], "transaction", "same-time", "approved", {}),
        (rows[3], "transaction", "same-time-2", "approved", {}),
    ]
    for n, (row, type_name, txid, status, extra) in enumerate(event_rows):
        at = row["created_at"] + timedelta(seconds=90 * (n % 3), microseconds=7 * (n % 2))
        if txid.startswith("same-time"):
            at = row["created_at"] + timedelta(days=1)
        events.append(
            {
                "workspace_id": ws,
                "click_created_at": row["created_at"],
                "click_id": row["id"],
                "type_id": types[type_name],
                "txid": txid,
                "dedup_txid": txid,
                "status": status,
                "created_at": at,
                "updated_at": at + timedelta(hours=1),
                **extra,
            }
        )
    await session.execute(insert(ConversionEvent), events)
    await session.commit()


@pytest.fixture
async def clients(settings: Settings, engine: AsyncEngine) -> AsyncIterator[tuple[Client, Client]]:
    quiet = {"api_rate_limit_per_minute": 0}
    async with (
        client_with(settings, api_compiled_reads=True, **quiet) as compiled,
        client_with(settings, api_compiled_reads=False, **quiet) as normal,
    ):
        yield compiled, normal


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which compiled path answered each request: "door" (api.compiled.door, in front of the
    controller), "controller" (inside it); nothing when the normal path answered."""
    paths: list[str] = []
    for path, name in (("controller", "execute"), ("door", "execute_keyed")):
        original = getattr(CompiledReads, name)

        async def execute(
            self: CompiledReads, *args: Any, _path: str = path, _original: Any = original, **kw: Any
        ) -> Any:
            result = await _original(self, *args, **kw)
            if result is not None:
                paths.append(_path)
            return result

        monkeypatch.setattr(CompiledReads, name, execute)
    return paths


async def _both(
    clients: tuple[Client, Client],
    key: str,
    case: Case,
    answered: list[str],
    accept: str | None = None,
    *,
    path: str = "door",
) -> bytes:
    """``case``'s answers by the app with compiled reads and the one without; ``path``: the
    compiled path that must answer a compiled case."""
    body = {"query": case.query, "variables": case.variables, "operationName": case.operation_name}
    headers = {"Authorization": f"Bearer {key}", **({"Accept": accept} if accept else {})}
    # One request id for both: errors carry it, and the answers are compared byte for byte.
    headers["X-Request-ID"] = "compiled-or-not"
    if path == "door":
        # The controller's key lookup puts the key into the directory that the door reads.
        warm = await clients[0].post("/graphql", json={"query": "{ __typename }"}, headers=headers)
        assert warm.status_code in (200, 401, 403), warm.text
    answered.clear()
    compiled = await clients[0].post("/graphql", json=body, headers=headers)
    normal = await clients[1].post("/graphql", json=body, headers=headers)
    assert (compiled.status_code, compiled.content) == (normal.status_code, normal.content)
    assert compiled.headers.multi_items() == normal.headers.multi_items()
    assert answered == ([path] if case.compiled else []), case.query
    return compiled.content


@pytest.mark.parametrize("accept", [None, "application/graphql-response+json"])
@pytest.mark.parametrize("case", CORPUS, ids=[str(n) for n in range(len(CORPUS))])
async def test_the_compiled_path_answers_as_the_normal_one(
    clicks: TrackedCampaign,
    clients: tuple[Client, Client],
    answered: list[str],
    case: Case,
    accept: str | None,
):
    content = await _both(clients, clicks.workspace.admin_api_key, case, answered, accept)
    if case.compiled:
        assert b'"errors"' not in content


@pytest.mark.parametrize("order", ["NEWEST_FIRST", "OLDEST_FIRST"])
@pytest.mark.parametrize(
    "events",
    [{}, {"types": ["transaction"]}, {"statuses": ["APPROVED"]}, {"types": [], "statuses": None}],
)
async def test_pages_walked_by_cursor_are_the_same(
    clicks: TrackedCampaign,
    clients: tuple[Client, Client],
    answered: list[str],
    order: str,
    events: dict[str, Any],
):
    key = clicks.workspace.admin_api_key
    after = None
    seen = 0
    for _ in range(10):
        variables = {"first": 3, "after": after, "order": order, **events}
        content = await _both(clients, key, Case(PAGE, variables), answered)
        page = msgspec.json.decode(content)["data"]["clicks"]
        seen += len(page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == 10
    # Past the last page: empty, without cursors.
    await _both(clients, key, Case(PAGE, {"first": 3, "after": after, "order": order}), answered)
    # A cursor of the other order is refused by the normal path.
    other = "OLDEST_FIRST" if order == "NEWEST_FIRST" else "NEWEST_FIRST"
    await _both(
        clients,
        key,
        Case(PAGE, {"first": 3, "after": after, "order": other}, compiled=False),
        answered,
    )


async def test_another_workspace_sees_an_empty_page(
    clicks: TrackedCampaign,
    session: AsyncSession,
    clients: tuple[Client, Client],
    answered: list[str],
):
    other: NewWorkspace = await create_workspace(session, name="Other")
    await session.commit()
    content = await _both(
        clients, other.admin_api_key, Case(PAGE, {"order": "NEWEST_FIRST"}), answered
    )
    page = msgspec.json.decode(content)["data"]["clicks"]
    assert page["edges"] == []
    assert page["pageInfo"]["startCursor"] is None


@pytest.mark.parametrize(
    ("events", "parameters"),
    [
        ({}, []),
        ({"types": ["transaction"]}, [["transaction"]]),
        ({"statuses": ["APPROVED"]}, [["approved"]]),
        ({"types": []}, [[]]),
    ],
)
async def test_a_hot_page_is_planned_once(
    clicks: TrackedCampaign,
    settings: Settings,
    engine: AsyncEngine,
    events: dict[str, Any],
    parameters: list[object],
):
    """PostgreSQL plans a prepared statement afresh at each run while a generic plan looks
    dearer than the custom ones, as it did on 300k clicks with the page size and `$n IS NULL
    OR` tests as parameters: the statement takes only the workspace and the arguments it
    filters by, and reaches a generic plan."""
    schema = build_schema(settings, outage=DatabaseOutage())
    reads = CompiledReads(schema, settings)
    planned = reads.plan(PAGE, None)
    assert planned is not None
    root = planned[0].roots[0][1]
    assert isinstance(root, ClicksField)
    variables = {"first": 100, "order": "NEWEST_FIRST", **events}
    coerced = get_variable_values(
        reads.schema, planned[0].operation.variable_definitions or (), variables
    )
    assert not isinstance(coerced, list)
    text, params = statement(root, coerced, clicks.workspace_id, schema, engine.dialect)
    assert params == [clicks.workspace_id, *parameters]
    # The door's statement: the same, with the API key's check around it.
    first = len(params) + 1
    keyed = sql.keyed(text, workspace=f"${first}", secret_hash=f"${first + 1}")
    secret_hash = hash_api_key(clicks.workspace.admin_api_key)
    async with driver_connection(engine) as conn:
        for _ in range(8):
            await conn.fetchval(text, *params)
            row = await conn.fetchrow(keyed, *params, clicks.workspace_id, secret_hash)
            assert row is not None
            assert row[2] == await conn.fetchval(text, *params)
        plans = await conn.fetch(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement = ANY($1::text[])",
            [text, keyed],
        )
    assert len(plans) == 2
    for plan in plans:
        assert plan["generic_plans"] >= 2, dict(plan)


async def test_a_key_the_directory_does_not_hold_yet_is_answered_inside_the_controller(
    clicks: TrackedCampaign, clients: tuple[Client, Client], answered: list[str]
):
    """The door knows a key's workspace only once the controller's lookup has read it."""
    key = clicks.workspace.admin_api_key
    case = CORPUS[0]
    await _both(clients, key, case, answered, path="controller")
    await _both(clients, key, case, answered, path="door")


async def test_each_workspace_sees_its_own_clicks_only(
    clicks: TrackedCampaign,
    session: AsyncSession,
    engine: AsyncEngine,
    clients: tuple[Client, Client],
    answered: list[str],
):
    other: NewWorkspace = await create_workspace(session, name="Other")
    await session.commit()
    assert other.workspace.id is not None
    created = await create_campaign(
        session,
        workspace_id=other.workspace.id,
        name="Other sale",
        key="other",
        offer_url="https://example.com/other",
        source_name="OtherNet",
        source_click_id_param="cid",
        cost_model=CostModel.CPC,
        cost_value=Decimal("0.01"),
        payout=Decimal("1"),
    )
    await session.commit()
    assert created.campaign.id is not None
    assert created.offer.id is not None
    assert created.campaign.traffic_source_id is not None
    second = TrackedCampaign(
        workspace=other,
        workspace_id=other.workspace.id,
        campaign_id=created.campaign.id,
        offer_id=created.offer.id,
        source_id=created.campaign.traffic_source_id,
        key="other",
        secret=other.postback_secret,
    )
    await seed(session, engine, second)
    document = Case(
        f"{{ clicks(first: 50) {{ nodes {{ id campaign {{ id name }} events {{ {EVENT_FIELDS} }} "
        "} } }"
    )
    for tracked in (clicks, second):
        ids = set(
            await session.scalars(
                select(col(Click.id)).where(col(Click.workspace_id) == tracked.workspace_id)
            )
        )
        assert len(ids) == 10
        content = await _both(clients, tracked.workspace.admin_api_key, document, answered)
        nodes = msgspec.json.decode(content)["data"]["clicks"]["nodes"]
        assert {node["id"] for node in nodes} == ids
        assert {node["campaign"]["id"] for node in nodes} == {str(tracked.campaign_id)}
        assert {event["clickId"] for node in nodes for event in node["events"]} <= ids


async def test_a_key_revoked_after_the_directory_read_it_is_refused(
    clicks: TrackedCampaign,
    session: AsyncSession,
    clients: tuple[Client, Client],
    answered: list[str],
):
    key = clicks.workspace.admin_api_key
    await _both(clients, key, CORPUS[0], answered)
    await session.execute(
        update(ApiKey)
        .where(col(ApiKey.workspace_id) == clicks.workspace_id)
        .values(revoked_at=datetime.now(UTC))
    )
    await session.commit()
    content = await _both(clients, key, Case(CORPUS[0].query, compiled=False), answered)
    assert b"API key is unknown or revoked" in content


async def test_an_outage_is_answered_503_by_the_controller(
    clicks: TrackedCampaign, settings: Settings, answered: list[str]
):
    """The door's statement fails; the controller's key lookup then answers as in any
    outage: the request-level 503 body."""
    headers = {"Authorization": f"Bearer {clicks.workspace.admin_api_key}"}
    body = {"query": CORPUS[0].query}
    assert settings.database_url is not None
    with database_proxy(settings.database_url) as proxy:
        async with client_with(settings, database_url=proxy.url, api_compiled_reads=True) as client:
            for _ in range(2):
                response = await client.post("/graphql", json=body, headers=headers)
                assert response.status_code == 200, response.text
            assert answered == ["controller", "door"]
            proxy.cut()
            answered.clear()
            for _ in range(2):
                response = await client.post(
                    "/graphql", json=body, headers={**headers, "X-Request-ID": "outage"}
                )
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] == "5"
                assert response.json() == {
                    "errors": [
                        {
                            "message": "the database is unavailable: retry in a few seconds",
                            "extensions": {"code": "DATABASE_UNAVAILABLE", "requestId": "outage"},
                        }
                    ]
                }
            assert answered == []


def test_pages_without_numbers_are_sent_as_postgresql_wrote_them(settings: Settings):
    """The corpus holds pages of both kinds."""
    reads = CompiledReads(build_schema(settings, outage=DatabaseOutage()), settings)
    verbatim = {}
    for case in CORPUS:
        planned = reads.plan(case.query, case.operation_name)
        if planned is not None:
            for _, root in planned[0].roots:
                if isinstance(root, ClicksField):
                    verbatim[case.query] = root.verbatim
    assert verbatim[CORPUS[0].query]
    assert not verbatim[CORPUS[1].query]
    assert sum(verbatim.values()) >= 5
    assert len(verbatim) - sum(verbatim.values()) >= 3
