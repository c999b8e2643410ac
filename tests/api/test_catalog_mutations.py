from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.workspaces.service import NewWorkspace
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
    return result["createTrafficSource"]


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
    return result["createOffer"]


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
