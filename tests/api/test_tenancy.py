from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from api.workspaces.service import NewWorkspace, create_workspace
from tests.api.conftest import Traffic
from tests.api.graphql import data
from tests.api.test_catalog_mutations import create_offer, create_source
from tests.api.test_uploads import upload

Client = AsyncTestClient[Litestar]

SNAPSHOT = """{
  workspace { name }
  trafficSources { id name status clickIdParam forwardTemplates { id url enabled } }
  offers { id name url status }
  campaigns { id name status costModel trafficSource { id } offers { weight offer { id } } }
  conversionTypes { id name countsInRevenue }
  currencyRates { currency rate }
  apiKeys { id revokedAt }
}"""

ATTEMPTS = """
mutation(
  $source: ID!, $offer: ID!, $campaign: ID!, $type: ID!, $key: ID!, $own: ID!, $mine: ID!,
  $template: ID!, $ownSource: ID!, $ownType: ID!
) {
  a: updateTrafficSource(input: {id: $source, name: "x"}) { __typename }
  b: setTrafficSourceStatus(id: $source, status: ARCHIVED) { __typename }
  c: deleteTrafficSource(id: $source) { __typename }
  d: updateOffer(input: {id: $offer, url: "https://evil.example/"}) { __typename }
  e: setOfferStatus(id: $offer, status: PAUSED) { __typename }
  f: deleteOffer(id: $offer) { __typename }
  g: updateCampaign(input: {id: $campaign, name: "x"}) { __typename }
  h: setCampaignStatus(id: $campaign, status: PAUSED) { __typename }
  i: deleteCampaign(id: $campaign) { __typename }
  j: updateConversionType(input: {id: $type, countsInRevenue: false}) { __typename }
  k: deleteConversionType(id: $type) { __typename }
  l: revokeApiKey(id: $key) { __typename }
  m: createCampaign(input: {name: "steal", offers: [{offerId: $offer}]}) { __typename }
  n: createCampaign(input: {name: "steal2", trafficSourceId: $source, offers: [{offerId: $own}]}) {
    __typename
  }
  o: deleteCurrencyRate(currency: "EUR", validFrom: "2026-01-01T00:00:00Z") { __typename }
  p: updateCampaign(input: {id: $mine, trafficSourceId: $source}) { __typename }
  q: updateCampaign(input: {id: $mine, name: "x", offers: [{offerId: $offer}]}) { __typename }
  r: setForwardTemplate(input: {trafficSourceId: $source, conversionTypeId: $ownType,
    url: "https://evil.example/"}) { __typename }
  s: setForwardTemplate(input: {trafficSourceId: $ownSource, conversionTypeId: $type,
    url: "https://evil.example/"}) { __typename }
  t: deleteForwardTemplate(id: $template) { __typename }
}"""


async def test_another_workspaces_ids_are_not_found_and_nothing_changes(
    api_client: Client, workspace: NewWorkspace, session: AsyncSession
):
    other = await create_workspace(session, name="Other", currency="USD")
    await session.commit()
    theirs = other.admin_api_key
    source = await create_source(api_client, theirs)
    offer = await create_offer(api_client, theirs, "Theirs")
    campaign = await data(
        api_client,
        theirs,
        """mutation($input: CreateCampaignInput!) {
          createCampaign(input: $input) { ... on Campaign { id } }
        }""",
        {
            "input": {
                "name": "Theirs",
                "trafficSourceId": source["id"],
                "offers": [{"offerId": offer["id"]}],
            }
        },
    )
    custom = await data(
        api_client,
        theirs,
        """mutation { createConversionType(input: {name: "deposit", countsAsConversion: false,
          countsInRevenue: true, duplicatePolicy: IGNORE}) { ... on ConversionType { id } } }""",
    )
    await data(
        api_client,
        theirs,
        """mutation { setCurrencyRate(input: {currency: "EUR", rate: "1.1",
          validFrom: "2026-01-01T00:00:00Z"}) { __typename } }""",
    )
    template = await data(
        api_client,
        theirs,
        """mutation($input: SetForwardTemplateInput!) {
          setForwardTemplate(input: $input) { ... on ForwardTemplate { id } }
        }""",
        {
            "input": {
                "trafficSourceId": source["id"],
                "conversionTypeId": custom["createConversionType"]["id"],
                "url": "https://source.example/pb?c={clickid}",
            }
        },
    )
    their_key = (await data(api_client, theirs, "{ apiKeys { id } }"))["apiKeys"][0]["id"]
    before = await data(api_client, theirs, SNAPSHOT)

    mine = workspace.admin_api_key
    own_offer = await create_offer(api_client, mine, "Mine")
    own_source = await create_source(api_client, mine)
    own_type = (await data(api_client, mine, "{ conversionTypes { id } }"))["conversionTypes"][0]
    own_campaign = await data(
        api_client,
        mine,
        """mutation($input: CreateCampaignInput!) {
          createCampaign(input: $input) { ... on Campaign { id } }
        }""",
        {"input": {"name": "Mine", "offers": [{"offerId": own_offer["id"]}]}},
    )
    ids: dict[str, Any] = {
        "source": source["id"],
        "offer": offer["id"],
        "campaign": campaign["createCampaign"]["id"],
        "type": custom["createConversionType"]["id"],
        "key": their_key,
        "own": own_offer["id"],
        "mine": own_campaign["createCampaign"]["id"],
        "template": template["setForwardTemplate"]["id"],
        "ownSource": own_source["id"],
        "ownType": own_type["id"],
    }
    result = await data(api_client, mine, ATTEMPTS, ids)
    answers = {field: value["__typename"] for field, value in result.items()}
    assert answers == dict.fromkeys("abcdefghijklmnopqrst", "NotFound")
    reads = await data(
        api_client,
        mine,
        """query($source: ID!, $offer: ID!, $campaign: ID!) {
          trafficSource(id: $source) { id } offer(id: $offer) { id } campaign(id: $campaign) { id }
          trafficSources { id } offers { name } campaigns { id } currencyRates { currency }
        }""",
        {key: ids[key] for key in ("source", "offer", "campaign")},
    )
    assert reads == {
        "trafficSource": None,
        "offer": None,
        "campaign": None,
        "trafficSources": [{"id": own_source["id"]}],
        "offers": [{"name": "Mine"}],
        "campaigns": [{"id": ids["mine"]}],
        "currencyRates": [],
    }
    assert await data(api_client, theirs, SNAPSHOT) == before


FILTERED = """query($clicks: ClickFilter!, $log: PostbackLogFilter!) {
  clicks(filter: $clicks) { totalCount nodes { id } }
  postbackLog(filter: $log) { totalCount nodes { clickId } }
}"""


async def test_filters_on_another_workspaces_ids_find_nothing(
    api_client: Client, session: AsyncSession, traffic: Traffic
):
    theirs = traffic.campaign
    mine = await create_workspace(session, name="Other")
    await session.commit()
    variables = {
        "clicks": {
            "offerIds": [str(theirs.offer_id)],
            "trafficSourceIds": [str(theirs.source_id)],
        },
        "log": {"clickId": traffic.buyer},
    }
    # The same filters find the rows in their own workspace.
    own = await data(api_client, theirs.workspace.admin_api_key, FILTERED, variables)
    assert own["clicks"]["totalCount"] == 4
    assert own["postbackLog"]["totalCount"] == 3
    assert await data(api_client, mine.admin_api_key, FILTERED, variables) == {
        "clicks": {"totalCount": 0, "nodes": []},
        "postbackLog": {"totalCount": 0, "nodes": []},
    }


UPLOADS = """query($job: ID!) {
  uploadJob(id: $job) { id totalRows }
  uploadResults(jobId: $job) { totalCount nodes { line } }
  uploadJobs { totalCount nodes { id } }
}"""


async def test_another_workspaces_upload_job_is_not_found(
    api_client: Client, session: AsyncSession, workspace: NewWorkspace
):
    other = await create_workspace(session, name="Other", currency="USD")
    await session.commit()
    content = b"clickid,sum\nabc,1\n"
    theirs = await upload(api_client, other.admin_api_key, content)
    their_job = theirs["job"]["id"]
    own = await data(api_client, other.admin_api_key, UPLOADS, {"job": their_job})
    assert own["uploadJob"] == {"id": their_job, "totalRows": 1}
    assert own["uploadResults"] == {"totalCount": 0, "nodes": []}
    assert await data(api_client, workspace.admin_api_key, UPLOADS, {"job": their_job}) == {
        "uploadJob": None,
        "uploadResults": None,
        "uploadJobs": {"totalCount": 0, "nodes": []},
    }
    # The same bytes are a file of this workspace's own, not the other's job.
    mine = await upload(api_client, workspace.admin_api_key, content)
    assert mine["alreadyUploaded"] is False
    assert mine["job"]["id"] != their_job
