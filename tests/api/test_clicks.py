import ipaddress
from decimal import Decimal
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.catalog.service import create_campaign
from api.workspaces.service import create_workspace
from ingestion.app import create_app as create_ingestion_app
from models.enums import CostModel
from models.settings import Settings
from tests.api.conftest import CHROME_ANDROID, FIREFOX_WINDOWS, Traffic
from tests.api.graphql import client_with, execute
from tests.ingestion.conftest import click, postback

Client = AsyncTestClient[Litestar]

PAGE = """
query Page($filter: ClickFilter, $first: Int, $after: String, $order: ClickOrder) {
  clicks(filter: $filter, first: $first, after: $after, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
  }
}
"""


async def _ids(client: Client, traffic: Traffic, **variables: Any) -> list[str]:
    body = await execute(client, traffic.campaign.workspace.admin_api_key, PAGE, variables)
    assert "errors" not in body, body
    return [edge["node"]["id"] for edge in body["data"]["clicks"]["edges"]]


async def test_a_click_nests_its_campaign_offer_source_and_events(
    api_client: Client, traffic: Traffic
):
    body = await execute(
        api_client,
        traffic.campaign.workspace.admin_api_key,
        """
        query ($id: ID!) {
          click(id: $id) {
            id deviceType os browser isBot isUnique subs cost params
            campaign { id name key costModel trafficSource { name } }
            offer { id url payout }
            trafficSource { id name clickIdParam }
            conversions { type txid status amount secondsFromClick click { id } }
            transactions { txid amount conversionType { name countsAsConversion } }
            events(types: ["transaction"], statuses: [APPROVED]) { txid }
          }
        }
        """,
        {"id": traffic.buyer},
    )
    assert "errors" not in body, body
    click = body["data"]["click"]
    assert click["id"] == traffic.buyer
    assert (click["deviceType"], click["os"], click["isBot"]) == ("mobile", "Android", False)
    assert click["subs"] == ["alpha", "x"]
    assert click["params"] == {"sub1": "alpha", "sub2": "x"}
    assert click["campaign"]["name"] == "Summer sale"
    assert click["campaign"]["costModel"] == "CPC"
    assert click["campaign"]["trafficSource"] == {"name": "PushNet"}
    assert click["trafficSource"]["clickIdParam"] == "gclid"
    assert click["offer"]["id"] == str(traffic.campaign.offer_id)
    [conversion] = click["conversions"]
    assert (conversion["type"], conversion["status"], conversion["amount"]) == (
        "conversion",
        "APPROVED",
        "10.000000",
    )
    assert conversion["secondsFromClick"] >= 0
    assert conversion["click"] == {"id": traffic.buyer}
    assert [(t["txid"], t["amount"]) for t in click["transactions"]] == [
        ("t1", "4.500000"),
        ("t2", "5.500000"),
    ]
    assert click["transactions"][0]["conversionType"] == {
        "name": "transaction",
        "countsAsConversion": False,
    }
    assert [e["txid"] for e in click["events"]] == ["t1", "t2"]


async def test_an_empty_list_narrows_events_to_none_and_null_to_all(
    api_client: Client, traffic: Traffic
):
    body = await execute(
        api_client,
        traffic.campaign.workspace.admin_api_key,
        """
        query ($id: ID!) {
          click(id: $id) {
            noTypes: events(types: []) { txid }
            noStatuses: events(statuses: []) { txid }
            everyType: events(types: null) { txid }
            all: events { txid }
          }
        }
        """,
        {"id": traffic.buyer},
    )
    assert "errors" not in body, body
    click = body["data"]["click"]
    assert (click["noTypes"], click["noStatuses"]) == ([], [])
    assert len(click["everyType"]) == len(click["all"]) == 3


async def test_pages_follow_cursors_without_gaps_or_repeats(api_client: Client, traffic: Traffic):
    newest = await _ids(api_client, traffic)
    assert newest == [traffic.bot, traffic.browser, traffic.lead, traffic.buyer]
    for order, expected in (("NEWEST_FIRST", newest), ("OLDEST_FIRST", newest[::-1])):
        seen: list[str] = []
        after = None
        while True:
            body = await execute(
                api_client,
                traffic.campaign.workspace.admin_api_key,
                PAGE,
                {"first": 3, "after": after, "order": order},
            )
            page = body["data"]["clicks"]
            assert page["totalCount"] == 4
            assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
            seen += [edge["node"]["id"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == expected


async def test_filters_narrow_clicks_down(api_client: Client, traffic: Traffic):
    t = traffic
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"deviceTypes": ["mobile"]}, {t.buyer}),
        ({"browsers": ["Firefox"]}, {t.lead, t.browser}),
        ({"isBot": True}, {t.bot}),
        ({"subs": [{"index": 1, "values": ["alpha"]}]}, {t.buyer, t.browser}),
        ({"subs": [{"index": 1, "values": ["alpha"]}, {"index": 2, "values": ["x"]}]}, {t.buyer}),
        ({"hasConversion": True}, {t.buyer, t.lead}),
        ({"hasConversion": False}, {t.browser, t.bot}),
        ({"hasTransaction": True}, {t.buyer}),
        ({"eventTypes": ["conversion"], "eventStatuses": ["PENDING"]}, {t.lead}),
        ({"eventStatuses": ["APPROVED"]}, {t.buyer}),
        ({"eventTypes": []}, set()),
        ({"eventStatuses": []}, set()),
        ({"campaignIds": [str(t.campaign.campaign_id)]}, {t.buyer, t.lead, t.browser, t.bot}),
        ({"campaignIds": ["999999"]}, set()),
        ({"or": [{"isBot": True}, {"hasTransaction": True}]}, {t.buyer, t.bot}),
        ({"not": {"browsers": ["Firefox"]}, "isBot": False}, {t.buyer}),
        ({"and": [{"hasConversion": True}, {"not": {"hasTransaction": True}}]}, {t.lead}),
        # These clicks have no country: none is DE, so every one is "not DE".
        ({"not": {"countries": ["DE"]}}, {t.buyer, t.lead, t.browser, t.bot}),
        ({"createdBefore": "2000-01-01T00:00:00Z"}, set()),
        ({"createdFrom": "2000-01-01T00:00:00Z"}, {t.buyer, t.lead, t.browser, t.bot}),
    ]
    for filter_, expected in cases:
        assert set(await _ids(api_client, traffic, filter=filter_)) == expected, filter_


async def test_has_conversion_and_has_transaction_look_at_events_in_any_status(
    api_client: Client, ingestion_client: Client, traffic: Traffic
):
    t = traffic
    for params in (
        {"clickid": t.browser, "status": "declined"},
        {"clickid": t.browser, "type": "transaction", "txid": "t3", "status": "declined"},
    ):
        status, body = await postback(ingestion_client, t.campaign.secret, **params)
        assert status == 200, body
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"hasConversion": True}, {t.buyer, t.lead, t.browser}),
        ({"hasTransaction": True}, {t.buyer, t.browser}),
        ({"eventTypes": ["transaction"], "eventStatuses": ["APPROVED"]}, {t.buyer}),
    ]
    for filter_, expected in cases:
        assert set(await _ids(api_client, traffic, filter=filter_)) == expected, filter_
    # The schema says so, where a client reads it.
    body = await execute(
        api_client,
        t.campaign.workspace.admin_api_key,
        '{ __type(name: "ClickFilter") { inputFields { name description } } }',
    )
    fields = {f["name"]: f["description"] for f in body["data"]["__type"]["inputFields"]}
    for name in ("hasConversion", "hasTransaction"):
        assert "in any status, declined too" in fields[name], fields[name]


async def test_offer_source_country_os_and_unique_filters_narrow_clicks(
    api_client: Client, session: AsyncSession, settings: Settings, traffic: Traffic
):
    t = traffic
    winter = await create_campaign(
        session,
        workspace_id=t.campaign.workspace_id,
        name="Winter sale",
        key="winter",
        offer_url="https://winter.example/?cid={clickid}",
        source_name="AdNet",
        cost_model=CostModel.NONE,
        cost_value=Decimal(0),
    )
    await session.commit()
    # The traffic fixture's clicks have no country (no country header, no GeoIP database).
    countries = settings.model_copy(update={"country_header": "CF-IPCountry"})
    async with AsyncTestClient(app=create_ingestion_app(countries)) as ingestion:
        de = await click(
            ingestion, "winter", **{"user-agent": FIREFOX_WINDOWS, "cf-ipcountry": "DE"}
        )
        us = await click(
            ingestion, "winter", **{"user-agent": CHROME_ANDROID, "cf-ipcountry": "US"}
        )
    summer_offer, winter_offer = str(t.campaign.offer_id), str(winter.offer.id)
    push_net, ad_net = str(t.campaign.source_id), str(winter.campaign.traffic_source_id)
    summer = {t.buyer, t.lead, t.browser, t.bot}
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"offerIds": [winter_offer]}, {de, us}),
        ({"offerIds": [summer_offer]}, summer),
        ({"offerIds": [summer_offer, winter_offer]}, summer | {de, us}),
        ({"trafficSourceIds": [ad_net]}, {de, us}),
        ({"trafficSourceIds": [push_net]}, summer),
        ({"countries": ["DE"]}, {de}),
        ({"countries": ["US", "FR"]}, {us}),
        ({"oses": ["Android"]}, {t.buyer, us}),
        ({"oses": ["Windows"]}, {t.lead, t.browser, de}),
        # The same address, browser and campaign as the lead's click, after it.
        ({"isUnique": False}, {t.browser}),
        ({"isUnique": True}, summer - {t.browser} | {de, us}),
        # or: US or Windows; and: unique only (not browser); not: not the winter offer (not de).
        (
            {
                "or": [{"countries": ["US"]}, {"oses": ["Windows"]}],
                "and": [{"isUnique": True}],
                "not": {"offerIds": [winter_offer], "countries": ["DE"]},
            },
            {t.lead, us},
        ),
    ]
    for filter_, expected in cases:
        assert set(await _ids(api_client, traffic, filter=filter_)) == expected, filter_


async def test_bad_arguments_get_clear_errors(api_client: Client, traffic: Traffic):
    key = traffic.campaign.workspace.admin_api_key
    for variables, message in (
        ({"first": 1001}, "first must be between 1 and 1000"),
        ({"first": 0}, "first must be between 1 and 1000"),
        ({"after": "not-a-cursor"}, "is not one this API returned"),
        ({"filter": {"createdFrom": "2026-01-01T00:00:00"}}, "needs a time zone offset"),
        ({"filter": {"subs": [{"index": 21, "values": ["a"]}]}}, "sub index must be 1 to 20"),
        ({"filter": {"campaignIds": ["abc"]}}, "campaignIds must be ids"),
    ):
        body = await execute(api_client, key, PAGE, variables)
        assert body["data"] is None, variables
        assert message in body["errors"][0]["message"], body


async def test_a_slow_total_count_stops_at_the_report_timeout_with_a_message(
    engine: AsyncEngine, settings: Settings, traffic: Traffic
):
    # With no filter the count is summed from a rollup, through the report's path.
    async with client_with(settings, report_timeout_ms=200) as client, engine.connect() as blocker:
        # A count waiting on a lock is as slow as one scanning for minutes.
        await blocker.execute(
            text("LOCK TABLE rollup_campaign_daily_clicks IN ACCESS EXCLUSIVE MODE")
        )
        body = await execute(
            client, traffic.campaign.workspace.admin_api_key, "{ clicks { totalCount } }"
        )
        await blocker.rollback()
    assert "totalCount took longer than 200 ms" in body["errors"][0]["message"], body


async def test_a_query_past_the_statement_timeout_says_so(
    engine: AsyncEngine, settings: Settings, traffic: Traffic
):
    # A filter no rollup holds: the count reads the clicks under the general statement timeout.
    query = "{ clicks(filter: {isBot: true}) { totalCount } }"
    timing_out = client_with(settings, statement_timeout_ms=300)
    async with timing_out as client, engine.connect() as blocker:
        await blocker.execute(text("LOCK TABLE clicks IN ACCESS EXCLUSIVE MODE"))
        body = await execute(client, traffic.campaign.workspace.admin_api_key, query)
        await blocker.rollback()
    [error] = body["errors"]
    assert error["message"].startswith("the query took longer than the API's statement timeout")
    assert error["path"] == ["clicks"]


async def test_another_workspace_sees_none_of_the_clicks(
    api_client: Client, session: AsyncSession, traffic: Traffic
):
    other = await create_workspace(session, name="Other")
    await session.commit()
    body = await execute(
        api_client,
        other.admin_api_key,
        "query ($id: ID!) { click(id: $id) { id } clicks { totalCount edges { cursor } } }",
        {"id": traffic.buyer},
    )
    assert body["data"] == {"click": None, "clicks": {"totalCount": 0, "edges": []}}
    body = await execute(
        api_client,
        other.admin_api_key,
        PAGE,
        {"filter": {"campaignIds": [str(traffic.campaign.campaign_id)]}},
    )
    assert body["data"]["clicks"]["totalCount"] == 0


async def test_an_ip_becomes_text_only_when_a_query_selects_it(
    settings: Settings, traffic: Traffic, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
):
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE clicks SET ip = '192.0.2.7'"))
    texts: list[object] = []
    original = ipaddress.IPv4Address.__str__

    def counted(self: ipaddress.IPv4Address) -> str:
        texts.append(self)
        return original(self)

    monkeypatch.setattr(ipaddress.IPv4Address, "__str__", counted)
    key = traffic.campaign.workspace.admin_api_key
    # The normal executor: the compiled path does not write IPs.
    async with client_with(settings, api_compiled_reads=False) as client:
        body = await execute(client, key, "{ clicks { nodes { id country } } }")
        assert len(body["data"]["clicks"]["nodes"]) == 4
        assert texts == []
        body = await execute(client, key, "{ clicks { nodes { id ip } } }")
    assert {node["ip"] for node in body["data"]["clicks"]["nodes"]} == {"192.0.2.7"}
    assert len(texts) == 4
