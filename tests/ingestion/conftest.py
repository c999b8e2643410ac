"""Fixtures for the ingestion tests: a workspace with a campaign, and a few request helpers."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.catalog.service import NewCampaign, create_campaign
from api.workspaces.service import NewWorkspace
from ingestion.app import create_app
from models import Click
from models.click_ids import new_click_id
from models.enums import CostModel
from models.partitions import ensure_partitions
from models.rollups import rebuild_rollups
from models.settings import Settings

Client = AsyncTestClient[Litestar]
OFFER_URL = "https://offer.example/land?cid={clickid}&s1={sub1}&c={campaign_id}&src={source}&geo={country}&kw={keyword}"


@dataclass(frozen=True)
class TrackedCampaign:
    workspace: NewWorkspace
    workspace_id: int
    campaign_id: int
    offer_id: int
    source_id: int
    key: str
    secret: str


async def create_summer_campaign(session: AsyncSession, workspace_id: int) -> NewCampaign:
    """The tests' campaign `summer`: CPC, its offer at OFFER_URL, from PushNet."""
    return await create_campaign(
        session,
        workspace_id=workspace_id,
        name="Summer sale",
        key="summer",
        offer_url=OFFER_URL,
        source_name="PushNet",
        source_click_id_param="gclid",
        cost_model=CostModel.CPC,
        cost_value=Decimal("0.05"),
        payout=Decimal("2.5"),
    )


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.fixture
async def campaign(session: AsyncSession, workspace: NewWorkspace) -> TrackedCampaign:
    ws = workspace.workspace.id
    assert ws is not None
    created = await create_summer_campaign(session, ws)
    await session.commit()
    campaign, offer = created.campaign, created.offer
    assert campaign.id is not None
    assert offer.id is not None
    assert campaign.traffic_source_id is not None
    return TrackedCampaign(
        workspace=workspace,
        workspace_id=ws,
        campaign_id=campaign.id,
        offer_id=offer.id,
        source_id=campaign.traffic_source_id,
        key="summer",
        secret=workspace.postback_secret,
    )


def with_peer(app: Litestar, host: str) -> Any:
    """The app as a server on a real socket would see it: the peer address set in the scope."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "client": (host, 50000)}
        await app(scope, receive, send)  # type: ignore[arg-type]

    return asgi


@pytest.fixture
def client_at(engine: AsyncEngine, settings: Settings) -> Callable[..., Any]:
    """An ingestion client whose requests come from ``host``, with optional setting overrides."""

    def make(host: str, **overrides: Any) -> Client:
        app = create_app(settings.model_copy(update=overrides))
        return AsyncTestClient(app=with_peer(app, host))

    return make


async def click(client: Client, key: str = "summer", query: str = "", **headers: str) -> str:
    """Follow a tracking link; returns the click id from the redirect."""
    response = await client.get(f"/c/{key}?{query}", headers=headers, follow_redirects=False)
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)["cid"][0]


async def postback(client: Client, secret: str, **params: str) -> tuple[int, dict[str, Any]]:
    response = await client.get(f"/postback/{secret}", params=params)
    return response.status_code, response.json()


async def insert_click(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign, at: datetime
) -> str:
    """A click made directly in the database at any time (the tracking link only makes 'now'),
    then counted into the rollups as a hand-made row is: by a rebuild of its workspace."""
    async with engine.begin() as conn:
        await ensure_partitions(conn, since=at, until=at)
    click_id, created_at = new_click_id(at)
    session.add(
        Click(
            workspace_id=campaign.workspace_id,
            created_at=created_at,
            id=click_id,
            campaign_id=campaign.campaign_id,
            offer_id=campaign.offer_id,
        )
    )
    await session.commit()
    async with engine.begin() as conn:
        await rebuild_rollups(conn, workspace_id=campaign.workspace_id)
    return click_id


async def count(session: AsyncSession, sql: str, **params: Any) -> int:
    return int((await session.execute(text(sql), params)).scalar_one())
