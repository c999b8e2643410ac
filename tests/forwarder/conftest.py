"""Fixtures for forwarding: a campaign whose source has a template, a forwarder to run."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench.receiver import Receiver
from forwarder.sender import Forwarder
from models.settings import Settings
from tests.api.graphql import data
from tests.ingestion.conftest import TrackedCampaign, campaign

__all__ = ["campaign"]

SET_TEMPLATE = """
mutation Set($input: SetForwardTemplateInput!) {
  setForwardTemplate(input: $input) {
    __typename
    ... on ForwardTemplate { id url method statuses payoutOverride payoutShare enabled }
    ... on Error { message }
    ... on InputError { field }
  }
}
"""

RunForwarder = Callable[..., Any]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as running:
        yield running


async def set_template(
    api_client: AsyncTestClient[Litestar], api_key: str, **fields: Any
) -> dict[str, Any]:
    result: dict[str, Any] = (await data(api_client, api_key, SET_TEMPLATE, {"input": fields}))[
        "setForwardTemplate"
    ]
    return result


async def conversion_type_id(session: AsyncSession, workspace_id: int, name: str) -> int:
    return int(
        (
            await session.execute(
                text("SELECT id FROM conversion_types WHERE workspace_id = :w AND name = :n"),
                {"w": workspace_id, "n": name},
            )
        ).scalar_one()
    )


@pytest.fixture
async def template_for(
    api_client: AsyncTestClient[Litestar], campaign: TrackedCampaign, session: AsyncSession
) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Give the campaign's source a template for a conversion type (default: conversion)."""

    async def make(url: str, type_name: str = "conversion", **fields: Any) -> dict[str, Any]:
        saved = await set_template(
            api_client,
            campaign.workspace.admin_api_key,
            trafficSourceId=str(campaign.source_id),
            conversionTypeId=str(
                await conversion_type_id(session, campaign.workspace_id, type_name)
            ),
            url=url,
            **fields,
        )
        assert saved["__typename"] == "ForwardTemplate", saved
        # The ingestion app caches workspace rules for a few seconds: tests use new apps.
        return saved

    return make


def forwarder_settings(settings: Settings, **changes: Any) -> Settings:
    defaults: dict[str, Any] = {
        "forward_allow_loopback": True,
        "forward_poll_ms": 10,
        "forward_timeout_s": 2.0,
        "forward_backoff_base_s": 0.05,
        "forward_backoff_max_s": 0.1,
    }
    return settings.model_copy(update={**defaults, **changes})


@asynccontextmanager
async def running(engine: AsyncEngine, settings: Settings) -> AsyncIterator[Forwarder]:
    """A forwarder running on the test database until the block ends."""
    forwarder = Forwarder(engine, settings)
    stop = asyncio.Event()
    task = asyncio.create_task(forwarder.run(stop))
    try:
        yield forwarder
    finally:
        stop.set()
        await task


async def wait_until(
    check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0, every_s: float = 0.02
) -> None:
    """Poll the database with a deadline: the forwarder's work is in other connections."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, "the forwarder did not get there in time"
        await asyncio.sleep(every_s)


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())
