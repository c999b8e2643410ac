from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from api.workspaces.service import create_workspace
from tests.api.conftest import Traffic
from tests.api.graphql import execute
from tests.ingestion.conftest import postback

Client = AsyncTestClient[Litestar]

CONVERSIONS = """
query ($filter: ConversionFilter, $first: Int, $after: String) {
  conversions(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { type txid status amount click { id campaign { name } } }
  }
}
"""

LOG = """
query ($filter: PostbackLogFilter, $first: Int, $after: String) {
  postbackLog(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { kind method query clickId outcome reason httpStatus conversionEventId }
  }
}
"""


async def test_latest_events_page_newest_first(api_client: Client, traffic: Traffic):
    key = traffic.campaign.workspace.admin_api_key
    body = await execute(api_client, key, CONVERSIONS, {"first": 3})
    page = body["data"]["conversions"]
    assert page["totalCount"] == 4
    assert [(n["type"], n["txid"]) for n in page["nodes"]] == [
        ("conversion", ""),
        ("transaction", "t2"),
        ("transaction", "t1"),
    ]
    assert page["nodes"][0]["click"]["id"] == traffic.lead
    assert page["nodes"][1]["click"]["campaign"]["name"] == "Summer sale"
    rest = await execute(
        api_client, key, CONVERSIONS, {"first": 3, "after": page["pageInfo"]["endCursor"]}
    )
    assert [n["type"] for n in rest["data"]["conversions"]["nodes"]] == ["conversion"]
    assert rest["data"]["conversions"]["pageInfo"]["hasNextPage"] is False


async def test_events_filter_by_type_status_and_click(api_client: Client, traffic: Traffic):
    key = traffic.campaign.workspace.admin_api_key
    for filter_, expected in (
        ({"types": ["transaction"]}, 2),
        ({"statuses": ["PENDING"]}, 1),
        ({"clickId": traffic.buyer}, 3),
        ({"clickId": traffic.browser}, 0),
        ({"createdBefore": "2000-01-01T00:00:00Z"}, 0),
    ):
        body = await execute(api_client, key, CONVERSIONS, {"filter": filter_})
        assert body["data"]["conversions"]["totalCount"] == expected, filter_
    body = await execute(api_client, key, CONVERSIONS, {"filter": {"clickId": "nope"}})
    assert "is not a click id" in body["errors"][0]["message"]


async def test_the_log_says_why_a_postback_was_refused(
    api_client: Client, ingestion_client: Client, traffic: Traffic
):
    secret = traffic.campaign.secret
    await postback(ingestion_client, secret, clickid=traffic.buyer, sum="10")  # a retry
    await postback(ingestion_client, secret, clickid="0" * 44)
    key = traffic.campaign.workspace.admin_api_key
    body = await execute(api_client, key, LOG, {"first": 2})
    page = body["data"]["postbackLog"]
    assert page["totalCount"] == 6
    unknown, duplicate = page["nodes"]
    assert (unknown["reason"], unknown["outcome"], unknown["httpStatus"]) == (
        "unknown_click",
        "REJECTED",
        404,
    )
    assert duplicate["reason"] == "duplicate"
    assert duplicate["clickId"] == traffic.buyer
    assert duplicate["conversionEventId"] is not None
    assert "clickid=" in duplicate["query"]
    for filter_, expected in (
        ({"reasons": ["unknown_click"]}, 1),
        ({"outcomes": ["ACCEPTED"]}, 4),
        ({"kinds": ["PIXEL"]}, 0),
        ({"clickId": traffic.lead}, 1),
    ):
        body = await execute(api_client, key, LOG, {"filter": filter_})
        assert body["data"]["postbackLog"]["totalCount"] == expected, filter_


async def test_another_workspace_sees_no_events_or_log(
    api_client: Client, session: AsyncSession, traffic: Traffic
):
    other = await create_workspace(session, name="Other")
    await session.commit()
    body = await execute(
        api_client,
        other.admin_api_key,
        "query ($c: ID) { conversions(filter: {clickId: $c}) { totalCount } "
        "postbackLog { totalCount } }",
        {"c": traffic.buyer},
    )
    assert body["data"] == {"conversions": {"totalCount": 0}, "postbackLog": {"totalCount": 0}}
