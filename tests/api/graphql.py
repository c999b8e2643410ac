"""Posting GraphQL documents the way a client does."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.workspaces.service import NewWorkspace
from models.settings import Settings


def auth(workspace: NewWorkspace) -> dict[str, str]:
    return {"Authorization": f"Bearer {workspace.admin_api_key}"}


@asynccontextmanager
async def client_with(
    settings: Settings, **changes: object
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """An API client whose app runs with these settings changed."""
    async with AsyncTestClient(app=create_app(settings.model_copy(update=changes))) as client:
        yield client


async def execute(
    client: AsyncTestClient[Litestar],
    api_key: str,
    query: str,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole response body of POST /graphql; the transport must answer 200."""
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def data(
    client: AsyncTestClient[Litestar],
    api_key: str,
    query: str,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The data of a response that must have no errors."""
    body = await execute(client, api_key, query, variables)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result
