"""Depth, alias and token limits: a hostile document is refused, the usual tools get through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import strawberry
from graphql import get_introspection_query
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.schema import build_schema
from api.workspaces.service import NewWorkspace
from models.settings import Settings


def auth(workspace: NewWorkspace) -> dict[str, str]:
    return {"Authorization": f"Bearer {workspace.admin_api_key}"}


@asynccontextmanager
async def client_with(
    settings: Settings, **changes: object
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(settings.model_copy(update=changes))) as client:
        yield client


async def test_the_introspection_queries_of_graphiql_and_apollo_pass(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    # GraphiQL asks for everything graphql-js can introspect; Apollo for the classic subset.
    for query in (
        get_introspection_query(
            descriptions=True,
            specified_by_url=True,
            directive_is_repeatable=True,
            schema_description=True,
            input_value_deprecation=True,
            one_of=True,
        ),
        get_introspection_query(descriptions=True),
    ):
        response = await api_client.post(
            "/graphql",
            json={"query": query, "operationName": "IntrospectionQuery"},
            headers=auth(workspace),
        )
        body = response.json()
        assert "errors" not in body
        assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_too_many_aliases_are_refused(
    engine: AsyncEngine, settings: Settings, workspace: NewWorkspace
):
    query = "{ a: workspace { id } b: workspace { id } c: workspace { n: name } }"
    async with client_with(settings, api_max_aliases=3) as client:
        response = await client.post("/graphql", json={"query": query}, headers=auth(workspace))
    body = response.json()
    assert body["data"] is None
    assert [error["message"] for error in body["errors"]] == ["4 aliases found. Allowed: 3"]


async def test_too_many_tokens_are_refused(
    engine: AsyncEngine, settings: Settings, workspace: NewWorkspace
):
    # 3 + 25 x 4 tokens: `{`, `workspace`, `{`, 25 x (`id` `name` `timezone` `currency`), ...
    query = "{ workspace { " + "id name timezone currency " * 25 + "} }"
    async with client_with(settings, api_max_tokens=100) as client:
        response = await client.post("/graphql", json={"query": query}, headers=auth(workspace))
        body = response.json()
        assert [error["message"] for error in body["errors"]] == [
            "Syntax Error: Document contains more than 100 tokens. Parsing aborted."
        ]
        allowed = await client.post(
            "/graphql", json={"query": "{ workspace { id } }"}, headers=auth(workspace)
        )
        assert allowed.json()["data"]["workspace"]["id"] == str(workspace.workspace.id)


@strawberry.type(description="A tree as deep as a client asks for.")
class Node:
    name: str = strawberry.field(default="leaf", description="A leaf.")
    child: Node | None = strawberry.field(default=None, description="The next level.")


@strawberry.type(description="Root of the tree.")
class Tree:
    root: Node = strawberry.field(default_factory=Node, description="The first level.")


async def test_documents_deeper_than_the_limit_are_refused(settings: Settings):
    # The API's own schema is not yet deeper than one level: the same build, on a deep tree.
    schema = build_schema(settings.model_copy(update={"api_max_query_depth": 3}), query=Tree)
    deep = "{ root { child { child { child { name } } } } }"
    result = await schema.execute(deep, root_value=Tree())
    assert result.data is None
    assert [error.message for error in result.errors or []] == [
        "'anonymous' exceeds maximum operation depth of 3"
    ]
    fragments = "{ root { ...Two } } fragment Two on Node { child { child { name } } }"
    assert (await schema.execute(fragments, root_value=Tree())).errors is None
    via_fragment = "{ root { child { ...Two } } } fragment Two on Node { child { child { name } } }"
    assert (await schema.execute(via_fragment, root_value=Tree())).errors is not None
