"""Ingestion's refusals name their request; its access log is opt-in and hides secrets."""

import logging
from collections.abc import Iterator

import pytest
from litestar.testing import AsyncTestClient

from ingestion.app import create_app as create_ingestion_app
from models.settings import Settings
from tests.ingestion.conftest import Client, TrackedCampaign
from tests.models.test_instruments import capture_access_log


@pytest.fixture
def access_log() -> Iterator[list[logging.LogRecord]]:
    yield from capture_access_log()


async def test_a_refused_postback_names_its_request(
    ingestion_client: Client, campaign: TrackedCampaign
):
    response = await ingestion_client.get(
        f"/postback/{campaign.secret}", params={"sum": "1"}, headers={"X-Request-ID": "pb-1"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "missing_click_id",
        "detail": response.json()["detail"],
        "request_id": "pb-1",
    }


async def test_ingestion_logs_no_access_by_default_and_hides_secrets_when_asked(
    engine, settings: Settings, campaign: TrackedCampaign, access_log
):
    async with AsyncTestClient(app=create_ingestion_app(settings)) as client:
        await client.get(f"/postback/{campaign.secret}?clickid=x")
    assert access_log == []

    logged = settings.model_copy(update={"ingestion_access_log": True})
    async with AsyncTestClient(app=create_ingestion_app(logged)) as client:
        await client.get(f"/postback/{campaign.secret}?clickid=x")
        await client.get(f"/pixel/{campaign.secret}.gif?clickid=x")
        await client.get("/c/nope-nope")
    assert [(r.http["path"], r.http["route"], r.http["status"]) for r in access_log] == [
        ("/postback/***", "/postback/{secret}", 404),  # unknown_click
        ("/pixel/***", "/pixel/{filename}", 200),
        ("/c/nope-nope", "/c/{campaign_key}", 404),
    ]
    assert all(campaign.secret not in r.getMessage() for r in access_log)
