"""`GET /health` is served by both apps from models.health."""

import logging
from collections.abc import Callable

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app as create_api_app
from ingestion.app import create_app as create_ingestion_app
from models.settings import Settings
from tests.conftest import Outage

APPS = pytest.mark.parametrize("create_app", [create_api_app, create_ingestion_app])


@APPS
async def test_health_checks_the_database(
    create_app: Callable[[Settings], Litestar], settings: Settings, engine: AsyncEngine
):
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@APPS
async def test_health_is_503_when_the_database_is_down(create_app: Callable[[Settings], Litestar]):
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:1/none", _env_file=None)
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


@APPS
async def test_an_outage_is_logged_once_then_its_end(
    create_app: Callable[[Settings], Litestar],
    settings: Settings,
    engine: AsyncEngine,
    outage: Outage,
    service_log: list[logging.LogRecord],
):
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/health")).status_code == 200
        async with outage():
            for _ in range(20):
                assert (await client.get("/health")).status_code == 503
        assert (await client.get("/health")).status_code == 200
    probes = [r for r in service_log if "(health check)" in r.getMessage()]
    assert len(probes) == 2, [r.getMessage() for r in probes]
    failed, recovered = probes
    assert failed.getMessage().startswith("could not reach the database (health check): ")
    assert failed.exc_info is not None
    assert recovered.getMessage().startswith("can reach the database (health check) again")
