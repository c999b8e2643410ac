"""Forwards through GraphQL: the connection with its filters, attempts, per event, replay."""

from datetime import UTC, datetime
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.workspaces.service import create_workspace
from bench.receiver import Receiver
from models import Forward, ForwardAttempt
from models.settings import Settings
from tests.api.conftest import statements
from tests.api.graphql import data, execute
from tests.forwarder.conftest import (
    forwarder_settings,
    receiver,
    rows,
    running,
    template_for,
    wait_until,
)
from tests.ingestion.conftest import TrackedCampaign, click, postback

__all__ = ["receiver", "template_for"]

Client = AsyncTestClient[Litestar]
_NEW_YEAR = datetime(2026, 1, 1, tzinfo=UTC)

FORWARDS = """
query($filter: ForwardFilter, $first: Int, $after: String) {
  forwards(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id state attemptCount eventStatus amount lastStatusCode lastError clickId
      trafficSourceId nextAttemptAt deliveredAt
      attempts { url method statusCode latencyMs error answer }
    }
  }
}
"""

REPLAY = """mutation($id: ID!) { replayForward(id: $id) {
  __typename ... on Forward { id state attemptCount } ... on Error { message }
} }"""


async def _settled(engine: AsyncEngine, count: int) -> bool:
    found = await rows(engine, "SELECT count(*) AS n FROM forwards WHERE state <> 'pending'")
    return bool(found[0].n == count)


async def _one_dead_one_delivered(
    ingestion_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
) -> tuple[str, str]:
    """A conversion delivered, and a transaction dead after two HTTP 500s; their click ids."""
    await template_for(receiver.url("/ok/?c={clickid}&key=Secr3tKEYvalue99"))
    await template_for(receiver.url("/fail/?c={clickid}"), type_name="transaction")
    delivered, dead = await click(ingestion_client), await click(ingestion_client)
    assert (await postback(ingestion_client, campaign.secret, cid=delivered, payout="3"))[0] == 200
    code, body = await postback(
        ingestion_client, campaign.secret, cid=dead, type="transaction", txid="t", payout="4"
    )
    assert code == 200, body
    async with running(engine, forwarder_settings(settings, forward_max_attempts=2)):
        await wait_until(lambda: _settled(engine, 2))
    return delivered, dead


async def test_forwards_show_their_attempts_and_filter(
    ingestion_client: Client,
    api_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
):
    delivered, dead = await _one_dead_one_delivered(
        ingestion_client, campaign, template_for, receiver, engine, settings
    )
    key = campaign.workspace.admin_api_key
    everything = (await data(api_client, key, FORWARDS))["forwards"]
    assert everything["totalCount"] == 2
    newest, oldest = everything["nodes"]
    assert (newest["clickId"], newest["state"], newest["attemptCount"]) == (dead, "DEAD", 2)
    assert (newest["lastStatusCode"], newest["lastError"]) == (500, "HTTP 500")
    assert newest["nextAttemptAt"] is None
    assert [a["statusCode"] for a in newest["attempts"]] == [500, 500]
    assert newest["attempts"][0]["answer"] == "database down"
    assert (oldest["clickId"], oldest["state"], oldest["amount"]) == (
        delivered,
        "DELIVERED",
        "3.000000",
    )
    [attempt] = oldest["attempts"]
    assert attempt["url"] == receiver.url(f"/ok/?c={delivered}&key=***")
    assert (attempt["method"], attempt["statusCode"], attempt["error"]) == ("GET", 200, None)
    assert oldest["deliveredAt"] is not None

    dead_only = await data(api_client, key, FORWARDS, {"filter": {"states": ["DEAD"]}})
    assert [n["clickId"] for n in dead_only["forwards"]["nodes"]] == [dead]
    by_click = await data(api_client, key, FORWARDS, {"filter": {"clickId": delivered}})
    assert [n["state"] for n in by_click["forwards"]["nodes"]] == ["DELIVERED"]
    by_source = await data(
        api_client, key, FORWARDS, {"filter": {"trafficSourceIds": [str(campaign.source_id)]}}
    )
    assert by_source["forwards"]["totalCount"] == 2
    page = (await data(api_client, key, FORWARDS, {"first": 1}))["forwards"]
    assert page["pageInfo"]["hasNextPage"]
    rest = await data(
        api_client, key, FORWARDS, {"first": 1, "after": page["pageInfo"]["endCursor"]}
    )
    assert [n["clickId"] for n in rest["forwards"]["nodes"]] == [delivered]


async def test_a_conversion_event_lists_its_forwards(
    ingestion_client: Client,
    api_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
):
    delivered, _ = await _one_dead_one_delivered(
        ingestion_client, campaign, template_for, receiver, engine, settings
    )
    found = await data(
        api_client,
        campaign.workspace.admin_api_key,
        """{ conversions { nodes {
          type click { id } forwards { state attempts { statusCode } }
        } } }""",
    )
    by_type = {n["type"]: n for n in found["conversions"]["nodes"]}
    assert by_type["conversion"]["click"]["id"] == delivered
    assert by_type["conversion"]["forwards"] == [
        {"state": "DELIVERED", "attempts": [{"statusCode": 200}]}
    ]
    assert by_type["transaction"]["forwards"][0]["state"] == "DEAD"


async def test_a_dead_forward_is_replayed_with_the_same_event_id(
    ingestion_client: Client,
    api_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
):
    await template_for(receiver.url("/fail/?ev={event_id}"))
    click_id = await click(ingestion_client)
    assert (await postback(ingestion_client, campaign.secret, cid=click_id))[0] == 200
    limits = forwarder_settings(settings, forward_max_attempts=1)
    async with running(engine, limits):
        await wait_until(lambda: _settled(engine, 1))
    [forward] = await rows(engine, "SELECT id FROM forwards")
    key = campaign.workspace.admin_api_key
    # The source is fixed: the template now points at a receiver that answers 200.
    await template_for(receiver.url("/ok/?ev={event_id}"))
    replayed = await data(api_client, key, REPLAY, {"id": str(forward.id)})
    assert replayed["replayForward"] == {
        "__typename": "Forward",
        "id": str(forward.id),
        "state": "PENDING",
        "attemptCount": 0,
    }
    again = await data(api_client, key, REPLAY, {"id": str(forward.id)})
    assert again["replayForward"]["__typename"] == "InputError"
    assert "pending" in again["replayForward"]["message"]
    async with running(engine, limits):
        await wait_until(lambda: _settled(engine, 1))
    assert [r.params["ev"] for r in receiver.received] == [str(forward.id)] * 2
    [node] = (await data(api_client, key, FORWARDS))["forwards"]["nodes"]
    assert (node["state"], node["attemptCount"]) == ("DELIVERED", 1)
    assert [a["statusCode"] for a in node["attempts"]] == [200, 500]


async def test_another_workspaces_forwards_are_not_found(
    ingestion_client: Client,
    api_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
    session: AsyncSession,
):
    delivered, _ = await _one_dead_one_delivered(
        ingestion_client, campaign, template_for, receiver, engine, settings
    )
    [forward] = await rows(
        engine, "SELECT id, conversion_event_id FROM forwards WHERE click_id = :c", c=delivered
    )
    other = await create_workspace(session, name="Other")
    await session.commit()
    mine = other.admin_api_key
    replayed = await data(api_client, mine, REPLAY, {"id": str(forward.id)})
    assert replayed["replayForward"]["__typename"] == "NotFound"
    for filter_ in (
        {},
        {"trafficSourceIds": [str(campaign.source_id)]},
        {"conversionEventId": str(forward.conversion_event_id)},
        {"clickId": delivered},
    ):
        found = await data(api_client, mine, FORWARDS, {"filter": filter_})
        assert found["forwards"] == {
            "totalCount": 0,
            "pageInfo": {"hasNextPage": False, "endCursor": None},
            "nodes": [],
        }
    [state] = await rows(engine, "SELECT state FROM forwards WHERE id = :i", i=forward.id)
    assert state.state == "delivered"


async def test_bad_filter_values_are_refused(api_client: Client, campaign: TrackedCampaign):
    for filter_, message in (
        ({"trafficSourceIds": ["x"]}, "trafficSourceIds must be ids"),
        ({"conversionEventId": "-1"}, "conversionEventId must be ids"),
        ({"trafficSourceIds": ["1"] * 1001}, "at most"),
        ({"createdFrom": "0001-01-01T00:00:00Z"}, "createdFrom"),
    ):
        body = await execute(
            api_client, campaign.workspace.admin_api_key, FORWARDS, {"filter": filter_}
        )
        assert message in body["errors"][0]["message"], body


async def test_forwards_with_attempts_cost_a_constant_number_of_statements(
    api_client: Client, session: AsyncSession, campaign: TrackedCampaign, template_for
):
    saved = await template_for("https://source.example/?c={clickid}")
    now_forwards: list[dict[str, Any]] = []
    for n in range(60):
        now_forwards.append(
            {
                "workspace_id": campaign.workspace_id,
                "id": n + 1,
                "template_id": int(saved["id"]),
                "traffic_source_id": campaign.source_id,
                "conversion_type_id": 1,
                "conversion_event_id": n + 1,
                "click_created_at": _NEW_YEAR,
                "click_id": f"c{n}",
                "event_status": "approved",
                "amount": 1,
                "state": "dead",
            }
        )
    await session.execute(insert(Forward), now_forwards)
    await session.execute(
        insert(ForwardAttempt),
        [
            {
                "workspace_id": campaign.workspace_id,
                "forward_id": f["id"],
                "attempted_at": _NEW_YEAR,
                "url": "https://source.example/",
                "method": "GET",
                "status_code": 500,
                "latency_ms": 3,
            }
            for f in now_forwards
            for _ in range(2)
        ],
    )
    await session.commit()
    key = campaign.workspace.admin_api_key
    app_engine: AsyncEngine = api_client.app.state.engine
    await execute(api_client, key, "{ workspace { name } }")
    counts = {}
    for first in (5, 50):
        with statements(app_engine) as executed:
            body = await execute(api_client, key, FORWARDS, {"first": first})
        assert "errors" not in body, body
        nodes = body["data"]["forwards"]["nodes"]
        assert len(nodes) == first
        assert all(len(node["attempts"]) == 2 for node in nodes)
        counts[first] = len(executed)
    # Key lookup, page, count, attempts.
    assert counts[5] == counts[50] <= 5, counts


async def test_a_template_with_forwards_is_disabled_not_deleted(
    ingestion_client: Client,
    api_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
):
    saved = await template_for(receiver.url("/ok/?c={clickid}"))
    click_id = await click(ingestion_client)
    assert (await postback(ingestion_client, campaign.secret, cid=click_id))[0] == 200
    deleted = await data(
        api_client,
        campaign.workspace.admin_api_key,
        "mutation($id: ID!) { deleteForwardTemplate(id: $id) { "
        "__typename ... on Error { message } } }",
        {"id": saved["id"]},
    )
    assert deleted["deleteForwardTemplate"]["__typename"] == "InUse"
    assert "disable it instead" in deleted["deleteForwardTemplate"]["message"]


FORWARD_REPORT = """
query($groupBy: [ReportDimension!], $bucket: TimeBucket, $attribution: ReportAttribution,
      $having: [ReportCondition!], $filter: ClickFilter) {
  report(groupBy: $groupBy, timeBucket: $bucket, attribution: $attribution, having: $having,
         filter: $filter) {
    source
    rows { campaign { name } clicks conversions forwarded forwardFailed }
    totals { clicks forwarded forwardFailed }
  }
}
"""


async def test_reports_count_forwarded_and_failed(
    ingestion_client: Client,
    api_client: Client,
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
):
    await _one_dead_one_delivered(
        ingestion_client, campaign, template_for, receiver, engine, settings
    )
    await click(ingestion_client)  # a click with no event: counted in clicks only
    key = campaign.workspace.admin_api_key
    for attribution in ("CLICK_TIME", "CONVERSION_TIME"):
        found = (
            await data(
                api_client,
                key,
                FORWARD_REPORT,
                {"groupBy": ["CAMPAIGN"], "bucket": "DAY", "attribution": attribution},
            )
        )["report"]
        assert found["source"] == "raw"
        [row] = found["rows"]
        assert row == {
            "campaign": {"name": "Summer sale"},
            "clicks": 3,
            "conversions": 1,
            "forwarded": 1,
            "forwardFailed": 1,
        }
        assert found["totals"] == {"clicks": 3, "forwarded": 1, "forwardFailed": 1}
    kept = await data(
        api_client,
        key,
        FORWARD_REPORT,
        {"having": [{"metric": "FORWARD_FAILED", "comparison": "GT", "value": 1}]},
    )
    assert kept["report"]["rows"] == []
    # Forwards count only with their clicks: a filter that matches none counts none.
    other = (await data(api_client, key, FORWARD_REPORT, {"filter": {"campaignIds": ["999999"]}}))[
        "report"
    ]
    assert other["totals"] == {"clicks": 0, "forwarded": 0, "forwardFailed": 0}


async def test_a_report_without_forward_metrics_still_uses_the_rollups(
    api_client: Client, campaign: TrackedCampaign
):
    found = await data(
        api_client,
        campaign.workspace.admin_api_key,
        "{ report(groupBy: [CAMPAIGN]) { source totals { clicks } } }",
    )
    assert found["report"]["source"] != "raw"
