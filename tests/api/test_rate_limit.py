"""Requests per minute per API key."""

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.app import create_app
from api.workspaces.service import NewWorkspace, create_workspace
from models.settings import Settings

QUERY = {"query": "{ workspace { id } }"}


def auth(workspace: NewWorkspace) -> dict[str, str]:
    return {"Authorization": f"Bearer {workspace.admin_api_key}"}


@pytest.fixture
async def limited_client(
    engine: AsyncEngine, settings: Settings
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    limited = settings.model_copy(update={"api_rate_limit_per_minute": 2})
    async with AsyncTestClient(app=create_app(limited)) as client:
        yield client


async def test_a_key_over_its_limit_gets_429_with_retry_after(
    limited_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    for remaining in ("1", "0"):
        response = await limited_client.post("/graphql", json=QUERY, headers=auth(workspace))
        assert response.status_code == 200
        assert response.headers["ratelimit-remaining"] == remaining
    refused = await limited_client.post("/graphql", json=QUERY, headers=auth(workspace))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    detail = refused.json()["detail"]
    assert detail.startswith("this API key made more than 2 requests in a minute; retry in")


async def test_each_key_has_its_own_limit(
    limited_client: AsyncTestClient[Litestar], session: AsyncSession, workspace: NewWorkspace
):
    other = await create_workspace(session, name="Other")
    await session.commit()
    for _ in range(3):
        await limited_client.post("/graphql", json=QUERY, headers=auth(workspace))
    response = await limited_client.post("/graphql", json=QUERY, headers=auth(other))
    assert response.status_code == 200
    assert response.json()["data"]["workspace"]["id"] == str(other.workspace.id)


async def test_requests_without_a_key_are_not_counted(
    limited_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    for _ in range(3):
        assert (await limited_client.get("/health")).status_code == 200
        assert (await limited_client.post("/graphql", json=QUERY)).status_code == 401
    response = await limited_client.post("/graphql", json=QUERY, headers=auth(workspace))
    assert response.status_code == 200


async def test_zero_turns_the_limit_off(
    engine: AsyncEngine, settings: Settings, workspace: NewWorkspace
):
    unlimited = settings.model_copy(update={"api_rate_limit_per_minute": 0})
    async with AsyncTestClient(app=create_app(unlimited)) as client:
        for _ in range(5):
            response = await client.post("/graphql", json=QUERY, headers=auth(workspace))
            assert response.status_code == 200
            assert "ratelimit-limit" not in response.headers
