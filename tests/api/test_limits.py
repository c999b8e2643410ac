"""Depth, alias and token limits: a hostile document is refused, the usual tools get through."""

from __future__ import annotations

from graphql import get_introspection_query
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from api.workspaces.service import NewWorkspace
from models.settings import Settings
from tests.api.graphql import auth, client_with


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


async def test_documents_deeper_than_the_limit_are_refused(
    engine: AsyncEngine, settings: Settings, workspace: NewWorkspace
):
    deep = "{ clicks { nodes { transactions { click { campaign { name } } } } } }"
    shallow = "{ clicks { nodes { id } } }"
    fragment = "fragment C on Click { transactions { click { campaign { name } } } }"
    async with client_with(settings, api_max_query_depth=3) as client:
        for query, refused in (
            (deep, True),
            (shallow, False),
            ("{ clicks { nodes { ...C } } } " + fragment, True),
        ):
            response = await client.post("/graphql", json={"query": query}, headers=auth(workspace))
            body = response.json()
            if refused:
                assert body["data"] is None, query
                assert body["errors"][0]["message"].endswith("exceeds maximum operation depth of 3")
            else:
                assert "errors" not in body, body
