from datetime import UTC, datetime
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.workspaces.service import NewWorkspace
from models import Click
from models.click_ids import new_click_id
from models.partitions import ensure_partitions
from tests.api.graphql import data

Client = AsyncTestClient[Litestar]

CREATE_SOURCE = """
mutation($input: CreateTrafficSourceInput!) {
  createTrafficSource(input: $input) {
    __typename
    ... on TrafficSource { id name clickIdParam status }
    ... on Error { message }
    ... on InputError { field }
    ... on Conflict { field }
  }
}"""
CREATE_OFFER = """
mutation($input: CreateOfferInput!) {
  createOffer(input: $input) {
    __typename
    ... on Offer { id name url payout currency status }
    ... on Error { message }
    ... on InputError { field }
  }
}"""
CAMPAIGN_FIELDS = """
    ... on Campaign {
      id key name costModel costValue attributionWindowDays status trackingLink
      trafficSource { id name }
      offers { weight offer { id name } }
      templates { postbackConversion postbackTransaction pixelConversion pixelTransaction }
    }
    ... on Error { message }
    ... on InputError { field }
    ... on Conflict { field }
"""
CREATE_CAMPAIGN = f"""
mutation($input: CreateCampaignInput!) {{
  createCampaign(input: $input) {{ __typename {CAMPAIGN_FIELDS} }}
}}"""
UPDATE_CAMPAIGN = f"""
mutation($input: UpdateCampaignInput!) {{
  updateCampaign(input: $input) {{ __typename {CAMPAIGN_FIELDS} }}
}}"""


async def create_source(client: Client, key: str, name: str = "PushNet") -> dict[str, Any]:
    result = await data(
        client, key, CREATE_SOURCE, {"input": {"name": name, "clickIdParam": "zoneid"}}
    )
    source: dict[str, Any] = result["createTrafficSource"]
    return source


async def create_offer(client: Client, key: str, name: str) -> dict[str, Any]:
    result = await data(
        client,
        key,
        CREATE_OFFER,
        {
            "input": {
                "name": name,
                "url": f"https://{name.lower()}.example/?c={{clickid}}",
                "payout": "2.5",
            }
        },
    )
    offer: dict[str, Any] = result["createOffer"]
    return offer


async def test_a_campaign_rotates_between_weighted_offers(
    api_client: Client, workspace: NewWorkspace
):
    key = workspace.admin_api_key
    source = await create_source(api_client, key)
    first = await create_offer(api_client, key, "Alpha")
    second = await create_offer(api_client, key, "Beta")
    assert first["currency"] == "USD"

    result = await data(
        api_client,
        key,
        CREATE_CAMPAIGN,
        {
            "input": {
                "name": "Spring",
                "key": "spring-2026",
                "trafficSourceId": source["id"],
                "offers": [
                    {"offerId": first["id"], "weight": 30},
                    {"offerId": second["id"], "weight": 70},
                ],
                "costModel": "CPC",
                "costValue": "0.05",
            }
        },
    )
    campaign = result["createCampaign"]
    assert campaign["__typename"] == "Campaign", campaign
    assert campaign["trafficSource"] == {"id": source["id"], "name": "PushNet"}
    assert [(o["offer"]["name"], o["weight"]) for o in campaign["offers"]] == [
        ("Beta", 70),
        ("Alpha", 30),
    ]
    assert campaign["trackingLink"].endswith("/c/spring-2026")
    assert (
        f"/postback/{workspace.postback_secret}?clickid={{clickid}}"
        in campaign["templates"]["postbackConversion"]
    )
    assert "type=transaction" in campaign["templates"]["postbackTransaction"]
    assert campaign["templates"]["pixelConversion"].startswith("<img ")

    read = await data(
        api_client,
        key,
        "query($id: ID!) { campaign(id: $id) { name offers { weight offer { name } } } }",
        {"id": campaign["id"]},
    )
    assert read["campaign"]["offers"] == [
        {"weight": 70, "offer": {"name": "Beta"}},
        {"weight": 30, "offer": {"name": "Alpha"}},
    ]


async def create_campaign(
    client: Client, key: str, offer_ids: list[str], name: str = "Spring"
) -> dict[str, Any]:
    result = await data(
        client,
        key,
        CREATE_CAMPAIGN,
        {"input": {"name": name, "offers": [{"offerId": id} for id in offer_ids]}},
    )
    campaign: dict[str, Any] = result["createCampaign"]
    assert campaign["__typename"] == "Campaign", campaign
    return campaign


async def test_an_update_changes_only_the_given_fields(api_client: Client, workspace: NewWorkspace):
    key = workspace.admin_api_key
    offer = await create_offer(api_client, key, "Alpha")
    update = """
    mutation($input: UpdateOfferInput!) {
      updateOffer(input: $input) { ... on Offer { name url payout currency } }
    }"""
    renamed = await data(api_client, key, update, {"input": {"id": offer["id"], "name": "Alpha 2"}})
    assert renamed["updateOffer"] == {
        "name": "Alpha 2",
        "url": offer["url"],
        "payout": offer["payout"],
        "currency": "USD",
    }
    cleared = await data(api_client, key, update, {"input": {"id": offer["id"], "payout": None}})
    assert cleared["updateOffer"]["payout"] is None
    assert cleared["updateOffer"]["name"] == "Alpha 2"


async def test_given_offers_replace_the_whole_rotation(api_client: Client, workspace: NewWorkspace):
    key = workspace.admin_api_key
    alpha = await create_offer(api_client, key, "Alpha")
    beta = await create_offer(api_client, key, "Beta")
    campaign = await create_campaign(api_client, key, [alpha["id"]])
    result = await data(
        api_client,
        key,
        UPDATE_CAMPAIGN,
        {"input": {"id": campaign["id"], "offers": [{"offerId": beta["id"], "weight": 5}]}},
    )
    updated = result["updateCampaign"]
    assert updated["offers"] == [{"weight": 5, "offer": {"id": beta["id"], "name": "Beta"}}]
    assert updated["name"] == "Spring"
    untouched = await data(
        api_client, key, UPDATE_CAMPAIGN, {"input": {"id": campaign["id"], "costModel": "CPM"}}
    )
    assert untouched["updateCampaign"]["offers"] == updated["offers"]
    assert untouched["updateCampaign"]["costModel"] == "CPM"


async def test_a_taken_name_or_key_is_a_conflict(api_client: Client, workspace: NewWorkspace):
    key = workspace.admin_api_key
    await create_source(api_client, key, "PushNet")
    again = await create_source(api_client, key, "PushNet")
    assert again["__typename"] == "Conflict"
    assert again["field"] == "name"
    offer = await create_offer(api_client, key, "Alpha")
    result = await data(
        api_client,
        key,
        CREATE_CAMPAIGN,
        {"input": {"name": "A", "key": "shared-key", "offers": [{"offerId": offer["id"]}]}},
    )
    assert result["createCampaign"]["__typename"] == "Campaign"
    result = await data(
        api_client,
        key,
        CREATE_CAMPAIGN,
        {"input": {"name": "B", "key": "shared-key", "offers": [{"offerId": offer["id"]}]}},
    )
    assert result["createCampaign"]["__typename"] == "Conflict"
    assert result["createCampaign"]["field"] == "key"
    listed = await data(api_client, key, "{ campaigns { name } }")
    assert listed["campaigns"] == [{"name": "A"}]


async def test_bad_input_names_the_field_and_saves_nothing(
    api_client: Client, workspace: NewWorkspace
):
    key = workspace.admin_api_key
    result = await data(
        api_client, key, CREATE_OFFER, {"input": {"name": "X", "url": "javascript:alert(1)"}}
    )
    assert result["createOffer"]["__typename"] == "InputError"
    assert result["createOffer"]["field"] == "url"
    assert "absolute http(s) URL" in result["createOffer"]["message"]
    assert (await data(api_client, key, "{ offers { id } }"))["offers"] == []


async def test_a_refused_campaign_update_leaves_the_campaign_as_it_was(
    api_client: Client, workspace: NewWorkspace
):
    key = workspace.admin_api_key
    alpha = await create_offer(api_client, key, "Alpha")
    campaign = await create_campaign(api_client, key, [alpha["id"]])
    result = await data(
        api_client,
        key,
        UPDATE_CAMPAIGN,
        {"input": {"id": campaign["id"], "name": "Renamed", "offers": [{"offerId": "999999"}]}},
    )
    assert result["updateCampaign"] == {
        "__typename": "NotFound",
        "message": "no offer with id 999999",
    }
    result = await data(
        api_client,
        key,
        UPDATE_CAMPAIGN,
        {"input": {"id": campaign["id"], "name": "Renamed", "attributionWindowDays": 0}},
    )
    assert result["updateCampaign"]["field"] == "attributionWindowDays"
    read = await data(
        api_client,
        key,
        "query($id: ID!) { campaign(id: $id) { name attributionWindowDays } }",
        {"id": campaign["id"]},
    )
    assert read["campaign"] == {"name": "Spring", "attributionWindowDays": 30}


async def test_paused_campaigns_are_listed_by_status(api_client: Client, workspace: NewWorkspace):
    key = workspace.admin_api_key
    alpha = await create_offer(api_client, key, "Alpha")
    running = await create_campaign(api_client, key, [alpha["id"]], name="Running")
    paused = await create_campaign(api_client, key, [alpha["id"]], name="Paused")
    result = await data(
        api_client,
        key,
        """mutation($id: ID!) {
          setCampaignStatus(id: $id, status: PAUSED) { ... on Campaign { status } }
        }""",
        {"id": paused["id"]},
    )
    assert result["setCampaignStatus"] == {"status": "PAUSED"}
    listed = await data(
        api_client,
        key,
        "{ active: campaigns(status: ACTIVE) { id } paused: campaigns(status: PAUSED) { id } }",
    )
    assert listed == {"active": [{"id": running["id"]}], "paused": [{"id": paused["id"]}]}


async def test_deleting_what_clicks_refer_to_is_refused_with_archive_advice(
    api_client: Client, workspace: NewWorkspace, session: AsyncSession, engine: AsyncEngine
):
    key = workspace.admin_api_key
    source = await create_source(api_client, key)
    alpha = await create_offer(api_client, key, "Alpha")
    result = await data(
        api_client,
        key,
        CREATE_CAMPAIGN,
        {
            "input": {
                "name": "Live",
                "trafficSourceId": source["id"],
                "offers": [{"offerId": alpha["id"]}],
            }
        },
    )
    campaign = result["createCampaign"]
    assert workspace.workspace.id is not None
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await ensure_partitions(conn, since=now, until=now)
    click_id, created_at = new_click_id(now)
    session.add(
        Click(
            workspace_id=workspace.workspace.id,
            created_at=created_at,
            id=click_id,
            campaign_id=int(campaign["id"]),
            offer_id=int(alpha["id"]),
            traffic_source_id=int(source["id"]),
        )
    )
    await session.commit()

    deletes = """
    mutation($campaign: ID!, $offer: ID!, $source: ID!) {
      deleteCampaign(id: $campaign) { __typename ... on Error { message } }
      deleteOffer(id: $offer) { __typename ... on Error { message } }
      deleteTrafficSource(id: $source) { __typename ... on Error { message } }
    }"""
    result = await data(
        api_client,
        key,
        deletes,
        {"campaign": campaign["id"], "offer": alpha["id"], "source": source["id"]},
    )
    for field, referrer in (
        ("deleteCampaign", "clicks"),
        ("deleteOffer", "campaigns"),
        ("deleteTrafficSource", "campaigns"),
    ):
        assert result[field]["__typename"] == "InUse", result
        assert f"is used by {referrer}" in result[field]["message"]
        assert "archive it instead (status ARCHIVED)" in result[field]["message"]
    still = await session.execute(text("SELECT count(*) FROM campaigns"))
    assert still.scalar_one() == 1


async def test_an_unused_row_is_deleted(api_client: Client, workspace: NewWorkspace):
    key = workspace.admin_api_key
    source = await create_source(api_client, key)
    result = await data(
        api_client,
        key,
        "mutation($id: ID!) { deleteTrafficSource(id: $id) { ... on Deleted { id } } }",
        {"id": source["id"]},
    )
    assert result["deleteTrafficSource"] == {"id": source["id"]}
    read = await data(
        api_client, key, "query($id: ID!) { trafficSource(id: $id) { id } }", {"id": source["id"]}
    )
    assert read["trafficSource"] is None


CONVERSION_TYPE = """
  ... on ConversionType { id name countsAsConversion countsInRevenue duplicatePolicy isBuiltin }
  ... on Error { __typename message }
  ... on InputError { field }
"""


async def test_builtin_conversion_types_keep_their_names_and_stay(
    api_client: Client, workspace: NewWorkspace
):
    key = workspace.admin_api_key
    types = (await data(api_client, key, "{ conversionTypes { id name isBuiltin } }"))[
        "conversionTypes"
    ]
    builtin = {row["name"]: row["id"] for row in types}
    assert set(builtin) == {"conversion", "transaction"}
    result = await data(
        api_client,
        key,
        f"""mutation($id: ID!) {{
          updateConversionType(input: {{id: $id, name: "sale"}}) {{ {CONVERSION_TYPE} }}
          deleteConversionType(id: $id) {{ __typename ... on Error {{ message }} }}
          keep: updateConversionType(input: {{id: $id, countsInRevenue: false}}) {{
            {CONVERSION_TYPE}
          }}
        }}""",
        {"id": builtin["conversion"]},
    )
    assert result["updateConversionType"]["field"] == "name"
    assert "built in and cannot be renamed" in result["updateConversionType"]["message"]
    assert result["deleteConversionType"]["__typename"] == "InputError"
    assert "built in and cannot be deleted" in result["deleteConversionType"]["message"]
    assert result["keep"]["name"] == "conversion"
    assert result["keep"]["countsInRevenue"] is False


async def test_a_custom_conversion_type_is_created_changed_and_deleted(
    api_client: Client, workspace: NewWorkspace
):
    key = workspace.admin_api_key
    created = await data(
        api_client,
        key,
        f"""mutation {{ createConversionType(input: {{name: "deposit", countsAsConversion: false,
          countsInRevenue: true, duplicatePolicy: ADD_AMOUNT}}) {{ {CONVERSION_TYPE} }} }}""",
    )
    deposit = created["createConversionType"]
    assert deposit["duplicatePolicy"] == "ADD_AMOUNT"
    assert deposit["isBuiltin"] is False
    bad = await data(
        api_client,
        key,
        f"""mutation {{ createConversionType(input: {{name: "Big Deposit",
          countsAsConversion: false, countsInRevenue: true, duplicatePolicy: IGNORE}}) {{
            {CONVERSION_TYPE}
          }} }}""",
    )
    assert bad["createConversionType"]["field"] == "name"
    renamed = await data(
        api_client,
        key,
        f"""mutation($id: ID!) {{
          updateConversionType(input: {{id: $id, name: "ftd"}}) {{ {CONVERSION_TYPE} }}
        }}""",
        {"id": deposit["id"]},
    )
    assert renamed["updateConversionType"]["name"] == "ftd"
    deleted = await data(
        api_client,
        key,
        "mutation($id: ID!) { deleteConversionType(id: $id) { __typename } }",
        {"id": deposit["id"]},
    )
    assert deleted["deleteConversionType"]["__typename"] == "Deleted"
    names = [
        row["name"]
        for row in (await data(api_client, key, "{ conversionTypes { name } }"))["conversionTypes"]
    ]
    assert names == ["conversion", "transaction"]


async def test_currency_rates_are_set_replaced_and_deleted(
    api_client: Client, workspace: NewWorkspace
):
    key = workspace.admin_api_key
    set_rate = """
    mutation($input: SetCurrencyRateInput!) {
      setCurrencyRate(input: $input) {
        __typename
        ... on CurrencyRate { currency rate validFrom }
        ... on InputError { field message }
      }
    }"""
    since = "2026-01-01T00:00:00+00:00"
    first = await data(
        api_client, key, set_rate, {"input": {"currency": "EUR", "rate": "1.1", "validFrom": since}}
    )
    assert first["setCurrencyRate"]["rate"] == "1.1000000000"
    await data(
        api_client, key, set_rate, {"input": {"currency": "EUR", "rate": "1.2", "validFrom": since}}
    )
    own = await data(api_client, key, set_rate, {"input": {"currency": "USD", "rate": "2"}})
    assert own["setCurrencyRate"]["field"] == "currency"
    rates = await data(api_client, key, "{ currencyRates { currency rate } }")
    assert rates["currencyRates"] == [{"currency": "EUR", "rate": "1.2000000000"}]
    deleted = await data(
        api_client,
        key,
        """mutation($at: DateTime!) {
          deleteCurrencyRate(currency: "EUR", validFrom: $at) { __typename }
        }""",
        {"at": since},
    )
    assert deleted["deleteCurrencyRate"]["__typename"] == "CurrencyRate"
    assert (await data(api_client, key, "{ currencyRates { currency } }"))["currencyRates"] == []


async def test_listing_campaigns_with_their_offers_costs_the_same_statements_for_any_count(
    api_client: Client, workspace: NewWorkspace
):
    key = workspace.admin_api_key
    source = await create_source(api_client, key)
    offers = [(await create_offer(api_client, key, f"Offer{n}"))["id"] for n in range(3)]
    query = """{ campaigns {
      name trafficSource { name } offers { weight offer { name } } templates { pixelScript }
    } }"""
    engine = api_client.app.state.engine
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    counts = []
    for n in range(2):
        for index in range(3):
            result = await data(
                api_client,
                key,
                CREATE_CAMPAIGN,
                {
                    "input": {
                        "name": f"C{n}{index}",
                        "trafficSourceId": source["id"],
                        "offers": [{"offerId": offer} for offer in offers],
                    }
                },
            )
            assert result["createCampaign"]["__typename"] == "Campaign"
        event.listen(engine.sync_engine, "before_cursor_execute", record)
        try:
            listed = await data(api_client, key, query)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", record)
        assert len(listed["campaigns"]) == 3 * (n + 1)
        assert all(len(campaign["offers"]) == 3 for campaign in listed["campaigns"])
        counts.append(len(statements))
        statements.clear()
    # One statement per list and per loader, whatever the number of campaigns.
    assert counts[0] == counts[1], counts


async def test_a_revshare_above_100_percent_is_refused(api_client: Client, workspace: NewWorkspace):
    key = workspace.admin_api_key
    alpha = await create_offer(api_client, key, "Alpha")
    offers = [{"offerId": alpha["id"]}]
    result = await data(
        api_client,
        key,
        CREATE_CAMPAIGN,
        {"input": {"name": "Share", "offers": offers, "costModel": "REVSHARE", "costValue": "150"}},
    )
    assert result["createCampaign"]["__typename"] == "InputError"
    assert result["createCampaign"]["field"] == "costValue"
    assert "percent of revenue: 0 to 100" in result["createCampaign"]["message"]
    # A CPA of 150 is fine; turning it into a 150% share is not, and changes nothing.
    cpa = await data(
        api_client,
        key,
        CREATE_CAMPAIGN,
        {"input": {"name": "Pay", "offers": offers, "costModel": "CPA", "costValue": "150"}},
    )
    campaign = cpa["createCampaign"]
    assert (campaign["costModel"], campaign["costValue"]) == ("CPA", "150.000000")
    result = await data(
        api_client, key, UPDATE_CAMPAIGN, {"input": {"id": campaign["id"], "costModel": "REVSHARE"}}
    )
    assert result["updateCampaign"]["field"] == "costValue"
    shared = await data(
        api_client,
        key,
        UPDATE_CAMPAIGN,
        {"input": {"id": campaign["id"], "costModel": "REVSHARE", "costValue": "35"}},
    )
    assert (shared["updateCampaign"]["costModel"], shared["updateCampaign"]["costValue"]) == (
        "REVSHARE",
        "35.000000",
    )
