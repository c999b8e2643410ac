"""Cost updates through GraphQL: the mutation, its refusals, the records, and reports after."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.workspaces.service import create_api_key
from ingestion.costs.service import apply_cost_updates
from models.enums import ApiScope
from tests.api.graphql import data, execute
from tests.api.test_report import RAW, _report, _spread_traffic
from tests.ingestion.conftest import TrackedCampaign

Client = AsyncTestClient[Litestar]

UPDATE = """
mutation($input: UpdateCostsInput!) {
  updateCosts(input: $input) {
    __typename
    ... on CostUpdate {
      id requestedBy apiKeyId requestId campaignId from to trafficSourceId country
      sub { index value } mode amount currency rate convertedAmount plannedClicks plannedAt
      clicksTouched oldTotal newTotal batches batchesApplied finishedAt
    }
    ... on InputError { field message }
    ... on NotFound { message }
  }
}"""
READ = """
query($id: ID!, $campaign: ID) {
  costUpdate(id: $id) { id clicksTouched oldTotal newTotal batchesApplied finishedAt }
  costUpdates(campaignId: $campaign, first: 1) {
    totalCount nodes { id mode amount } pageInfo { hasNextPage endCursor }
  }
}"""


def _day(campaign: TrackedCampaign) -> dict[str, Any]:
    start = datetime(2030, 5, 1, tzinfo=UTC)
    return {
        "campaignId": str(campaign.campaign_id),
        "from": start.isoformat(),
        "to": (start + timedelta(days=1)).isoformat(),
        "mode": "TOTAL",
        "amount": "1",
    }


async def _update(client: Client, key: str, **values: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await data(client, key, UPDATE, {"input": values}))["updateCosts"]
    return result


async def test_reports_from_rollups_equal_the_raw_tables_after_cost_updates(
    api_client: Client, session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=11)
    await _spread_traffic(session, engine, campaign, start)
    await session.execute(
        text("INSERT INTO currency_rates (workspace_id, currency, valid_from, rate) "
             "VALUES (:w, 'EUR', :at, 1.0837)"),
        {"w": campaign.workspace_id, "at": start - timedelta(days=1)},
    )  # fmt: skip
    await session.commit()
    key = campaign.workspace.admin_api_key
    days = {
        "from": (start + timedelta(days=1)).isoformat(),
        "to": (start + timedelta(days=6)).isoformat(),
    }
    spread = await _update(
        api_client, key, campaignId=str(campaign.campaign_id), mode="TOTAL", amount="77.777777",
        country="de", requestId="de-week", **days,
    )  # fmt: skip
    per_click = await _update(
        api_client, key, campaignId=str(campaign.campaign_id), mode="PER_CLICK", amount="0.031",
        currency="EUR", trafficSourceId=str(campaign.source_id), **days,
    )  # fmt: skip
    assert spread["__typename"] == per_click["__typename"] == "CostUpdate"
    assert (spread["plannedClicks"] > 0, spread["finishedAt"]) == (True, None)
    # The answer comes once the plan is made.
    assert spread["plannedAt"] is not None
    assert spread["requestedBy"].startswith("api key ")
    assert (per_click["rate"], per_click["convertedAmount"]) == ("1.0837000000", "0.033595")
    assert await apply_cost_updates(engine, workspace_id=campaign.workspace_id)

    done = await data(api_client, key, READ, {"id": spread["id"]})
    assert done["costUpdate"]["newTotal"] == "77.777777"
    assert done["costUpdate"]["finishedAt"] is not None
    # Newest first; the per-click update came second and touched every click of the days.
    listed = done["costUpdates"]
    assert (listed["totalCount"], listed["nodes"][0]["id"]) == (2, per_click["id"])
    assert listed["pageInfo"]["hasNextPage"]
    first, last = start + timedelta(days=1), start + timedelta(days=6)
    costs = await session.execute(
        text(
            "SELECT sum(cost), count(*) FROM clicks "
            "WHERE workspace_id = :w AND created_at >= :a AND created_at < :b"
        ),
        {"w": campaign.workspace_id, "a": first, "b": last},
    )
    total, clicks = costs.one()
    assert total == Decimal("0.033595") * clicks

    berlin = ZoneInfo("Europe/Berlin")
    first_day = (start + timedelta(days=2)).astimezone(berlin).date()
    window = {
        "createdFrom": datetime.combine(first_day, time(), berlin).isoformat(),
        "createdBefore": datetime.combine(
            first_day + timedelta(days=7), time(), berlin
        ).isoformat(),
    }
    for shape in (
        {"groupBy": ["CAMPAIGN", "OFFER"], "bucket": "DAY", "tz": "Europe/Berlin"},
        {"groupBy": ["COUNTRY", "DEVICE_TYPE"], "bucket": "HOUR"},
        {"groupBy": ["COUNTRY", "TRAFFIC_SOURCE"], "bucket": "DAY"},
    ):
        rollup = await _report(api_client, key, filter=window, first=2_000, **shape)
        raw = await _report(api_client, key, filter={**window, **RAW}, first=2_000, **shape)
        assert rollup["source"].startswith("rollup_"), shape
        assert raw["source"] == "raw"
        assert rollup["rows"] == raw["rows"], shape
        assert rollup["totals"] == raw["totals"], shape


async def test_a_retry_with_its_request_id_answers_the_same_update(
    api_client: Client, campaign: TrackedCampaign
):
    key = campaign.workspace.admin_api_key
    asked = {**_day(campaign), "mode": "PER_CLICK", "requestId": "retry-me"}
    first = await _update(api_client, key, **asked)
    again = await _update(api_client, key, **asked)
    assert first["__typename"] == "CostUpdate"
    assert again == first
    changed = await _update(api_client, key, **{**asked, "amount": "2"})
    assert changed["__typename"] == "InputError"
    assert changed["field"] == "requestId"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amount": "-0.01"}, "amount", "amount must be a number of 0 or more, got -0.01"),
        ({"amount": "NaN"}, "amount", "amount must be a number of 0 or more, got NaN"),
        ({"amount": "-Infinity"}, "amount", "amount must be a number of 0 or more"),
        ({"amount": "1e400"}, "amount", "amount must be below 1,000,000,000,000,000,000"),
        ({"amount": "0.1234567"}, "amount", "amount takes at most 6 decimal places"),
        (
            {"amount": "999999999999.9999995", "mode": "PER_CLICK"},
            "amount",
            "amount takes at most 6 decimal places",
        ),
        ({"amount": "1000000000000", "mode": "PER_CLICK"}, "amount", "a click's cost must be"),
        ({"to": "2030-04-30T00:00:00Z"}, "to", "to must be after from"),
        ({"to": "2031-06-01T00:00:00Z"}, "to", "a range spans at most 366 days"),
        ({"from": "2030-05-01T00:00:00"}, "from", "from needs a time zone offset"),
        ({"sub": {"index": 0, "value": "x"}}, "sub", "sub numbers run from 1 to 20"),
        ({"country": "Deutschland"}, "country", "two-letter ISO 3166 code"),
        ({"currency": "XYZ"}, "currency", "no XYZ -> USD rate valid at 2030-05-01"),
        ({"currency": "dollars"}, "currency", "three-letter ISO 4217 code"),
        ({"requestId": " "}, "requestId", "requestId must not be blank"),
        ({"mode": "TOTAL", "amount": "5"}, None, "nothing to spread the total over"),
    ],
)
async def test_input_that_cannot_be_taken_is_answered_with_an_input_error(
    api_client: Client,
    session: AsyncSession,
    campaign: TrackedCampaign,
    changes: dict[str, Any],
    field: str | None,
    message: str,
):
    key = campaign.workspace.admin_api_key
    answer = await _update(api_client, key, **{**_day(campaign), **changes})
    assert answer["__typename"] == "InputError", answer
    assert answer["field"] == field
    assert message in answer["message"]
    assert (await session.execute(text("SELECT count(*) FROM cost_updates"))).scalar() == 0


async def test_amounts_that_are_no_decimal_are_refused_before_the_resolver(
    api_client: Client, campaign: TrackedCampaign
):
    body = await execute(
        api_client, campaign.workspace.admin_api_key, UPDATE,
        {"input": {**_day(campaign), "amount": "12,50"}},
    )  # fmt: skip
    assert body["data"] is None
    assert "amount" in body["errors"][0]["message"]


async def test_nul_characters_are_refused_in_variables_and_in_the_document(
    api_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    key = campaign.workspace.admin_api_key
    response = await api_client.post(
        "/graphql",
        json={"query": UPDATE, "variables": {"input": {**_day(campaign), "requestId": "a\u0000"}}},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 400
    assert "NUL character" in response.text
    inline = (
        f'mutation {{ updateCosts(input: {{campaignId: "{campaign.campaign_id}", '
        'from: "2030-05-01T00:00:00Z", to: "2030-05-02T00:00:00Z", mode: PER_CLICK, '
        'amount: "1", sub: {index: 3, value: "a\\u0000b"}}) { __typename } }'
    )
    body = await execute(api_client, key, inline)
    assert "NUL character" in body["errors"][0]["message"]
    assert (await session.execute(text("SELECT count(*) FROM cost_updates"))).scalar() == 0


async def test_a_read_key_cannot_update_costs(
    api_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    read_key = await create_api_key(
        session, workspace_id=campaign.workspace_id, name="dashboard", scopes=[ApiScope.READ]
    )
    await session.commit()
    body = await execute(api_client, read_key.secret, UPDATE, {"input": _day(campaign)})
    assert body["data"] is None
    assert body["errors"][0]["message"]
    assert (await session.execute(text("SELECT count(*) FROM cost_updates"))).scalar() == 0
