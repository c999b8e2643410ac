"""The live feed over graphql-transport-ws, against API processes on real sockets.

Two API processes serve the same database; ingestion (in-process) records postbacks, and
each process's LISTEN connection hears them once committed.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from api.live.feed import LIVE_APPLICATION_NAME
from api.workspaces.service import NewWorkspace, create_workspace
from models import ConversionEvent, live
from models.base import table_of
from models.click_ids import click_time
from models.database import driver_dsn
from models.settings import Settings
from tests.api.conftest import conversion_type_ids
from tests.api.graphql import auth
from tests.api.servers import api_process
from tests.ingestion.conftest import TrackedCampaign, click, postback

Client = AsyncTestClient[Litestar]
EVENTS = """
subscription Live($types: [String!]) {
  events(types: $types) {
    __typename
    ... on LiveEvent { change event { type txid status amount clickId } }
    ... on MissedEvents { count message }
  }
}
"""
WAIT_S = 10.0
EVENTS_TABLE = table_of(ConversionEvent)


@pytest.fixture(scope="module")
def servers(settings: Settings) -> Iterator[tuple[str, str]]:
    with api_process(settings) as first, api_process(settings) as second:
        yield first, second


@asynccontextmanager
async def _subscribed(
    url: str, key: str, variables: dict[str, Any] | None = None
) -> AsyncIterator[ClientConnection]:
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}})
        )
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": EVENTS, "variables": variables or {}},
                }
            )
        )
        yield ws


async def _next(ws: ClientConnection) -> dict[str, Any]:
    """The next `next` payload of subscription 1 (server pings are answered and skipped)."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
        if message["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
            continue
        assert message["type"] == "next", message
        assert message["id"] == "1"
        assert "errors" not in message["payload"], message
        data: dict[str, Any] = message["payload"]["data"]["events"]
        return data


async def _ready(
    subscribers: list[ClientConnection], ingestion: Client, campaign: TrackedCampaign
) -> None:
    """Waits until every subscription hears events: a subscription starts listening a moment
    after its `subscribe` message, with no message of its own to say so. Probe transactions
    go out until each subscriber has seen one; the probes it gets are consumed here."""
    probe_click = await click(ingestion)
    heard = [False] * len(subscribers)
    deadline = time.monotonic() + WAIT_S
    n = 0
    while not all(heard):
        assert time.monotonic() < deadline, "the subscriptions never heard a probe"
        n += 1
        status, body = await postback(
            ingestion, campaign.secret, clickid=probe_click, type="transaction", txid=f"probe{n}"
        )
        assert status == 200, body
        for i, ws in enumerate(subscribers):
            try:
                while True:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                    if message["type"] == "next":
                        heard[i] = True
            except TimeoutError:
                pass


async def test_events_reach_subscribers_on_two_api_processes_after_their_commit(
    servers: tuple[str, str],
    ingestion_client: Client,
    campaign: TrackedCampaign,
    session: AsyncSession,
):
    key = campaign.workspace.admin_api_key
    other = await create_workspace(session, name="Other", timezone="UTC")
    await session.commit()
    first, second = servers
    async with (
        _subscribed(first, key) as on_first,
        _subscribed(second, key) as on_second,
        _subscribed(second, other.admin_api_key) as elsewhere,
        _subscribed(first, key, {"types": ["transaction"]}) as transactions_only,
    ):
        await _ready([on_first, on_second, transactions_only], ingestion_client, campaign)
        buyer = await click(ingestion_client)
        for params in (
            {"clickid": buyer, "sum": "10", "status": "pending"},
            {"clickid": buyer, "type": "transaction", "txid": "t1", "sum": "4.5"},
            {"clickid": buyer, "status": "approved"},  # pending -> approved
            {"clickid": buyer, "type": "transaction", "txid": "t1", "sum": "4.5"},  # duplicate
        ):
            status, body = await postback(ingestion_client, campaign.secret, **params)
            assert status == 200, body
        expected = [
            ("LiveEvent", "ADDED", "conversion", "", "PENDING", "10.000000"),
            ("LiveEvent", "ADDED", "transaction", "t1", "APPROVED", "4.500000"),
            ("LiveEvent", "UPDATED", "conversion", "", "APPROVED", "10.000000"),
        ]
        for ws in (on_first, on_second):
            got = []
            for _ in expected:
                m = await _next(ws)
                e = m["event"]
                assert e["clickId"] == buyer
                got.append(
                    (m["__typename"], m["change"], e["type"], e["txid"], e["status"], e["amount"])
                )
            assert got == expected
        m = await _next(transactions_only)
        assert (m["change"], m["event"]["txid"]) == ("ADDED", "t1")
        # The duplicate was not announced, and the other workspace heard nothing.
        for ws in (on_first, on_second, transactions_only, elsewhere):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.recv(), 1.0)


async def test_a_connection_without_a_valid_key_is_refused(servers: tuple[str, str]):
    for payload in (
        {},
        {"Authorization": "Bearer ct_nope"},
        {"Authorization": "Bearer \u0000"},
        {"apiKey": 12},
    ):
        async with connect(servers[0], subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), WAIT_S)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4403, payload
    # Subscribing before connection_init closes the socket as unauthorized.
    async with connect(servers[0], subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), WAIT_S)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401


async def test_queries_belong_to_http_and_subscriptions_to_the_websocket(
    servers: tuple[str, str], api_client: Client, workspace: NewWorkspace
):
    async with _subscribed(servers[0], workspace.admin_api_key) as ws:
        await ws.send(
            json.dumps(
                {"id": "2", "type": "subscribe", "payload": {"query": "{ workspace { name } }"}}
            )
        )
        message = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
        assert message["id"] == "2", message
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert "subscriptions only" in errors[0]["message"], message
    response = await api_client.post("/graphql", json={"query": EVENTS}, headers=auth(workspace))
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert "graphql-transport-ws" in error["message"]
    assert error["extensions"]["code"] == "BAD_REQUEST"


async def test_a_slow_subscriber_is_told_how_many_events_it_missed(
    settings: Settings,
    ingestion_client: Client,
    campaign: TrackedCampaign,
    engine: AsyncEngine,
    session: AsyncSession,
):
    with api_process(settings, CLICKTRAIL_LIVE_FEED_QUEUE_SIZE="2") as url:
        async with _subscribed(url, campaign.workspace.admin_api_key) as ws:
            await _ready([ws], ingestion_client, campaign)
            buyer = await click(ingestion_client)
            types = await conversion_type_ids(session, campaign.workspace_id)
            rows = (
                await session.execute(
                    insert(EVENTS_TABLE).returning(EVENTS_TABLE.c.id),
                    [
                        {
                            "workspace_id": campaign.workspace_id,
                            "click_created_at": _click_time(buyer),
                            "click_id": buyer,
                            "type_id": types["transaction"],
                            "txid": f"slow{n}",
                            "dedup_txid": f"slow{n}",
                            "amount": "1",
                        }
                        for n in range(5)
                    ],
                )
            ).all()
            # Five events announced at once, as one postback group would: the queue of two
            # takes the first two, the subscriber is told of the three others.
            [payload] = live.payloads(
                (campaign.workspace_id, row.id, buyer, live.ADDED) for row in rows
            )
            await session.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": live.CHANNEL, "payload": payload},
            )
            await session.commit()
            got = [await _next(ws) for _ in range(3)]
            assert [m["__typename"] for m in got] == ["LiveEvent", "LiveEvent", "MissedEvents"]
            assert [m["event"]["txid"] for m in got[:2]] == ["slow0", "slow1"]
            assert got[2]["count"] == 3
            # It goes on with what comes next.
            status, body = await postback(
                ingestion_client, campaign.secret, clickid=buyer, type="transaction", txid="after"
            )
            assert status == 200, body
            m = await _next(ws)
            assert (m["__typename"], m["event"]["txid"]) == ("LiveEvent", "after")


async def test_subscribers_are_told_when_the_listening_connection_was_lost(
    servers: tuple[str, str],
    server_url: str,
    database_url: str,
    ingestion_client: Client,
    campaign: TrackedCampaign,
):
    async with _subscribed(servers[1], campaign.workspace.admin_api_key) as ws:
        await _ready([ws], ingestion_client, campaign)
        admin = await asyncpg.connect(driver_dsn(database_url))
        try:
            terminated = await admin.fetchval(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = $1) AS t",
                LIVE_APPLICATION_NAME,
            )
        finally:
            await admin.close()
        assert terminated >= 1
        m = await _next(ws)
        assert (m["__typename"], m["count"]) == ("MissedEvents", None)
        # Reconnected: events flow again.
        await _ready([ws], ingestion_client, campaign)


def _click_time(click_id: str) -> datetime:
    moment = click_time(click_id)
    assert moment is not None
    return moment
