"""Depth, alias and token limits: a hostile document is refused, the usual tools get through."""

from __future__ import annotations

import time
from unittest.mock import ANY

from graphql import get_introspection_query
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from api.workspaces.service import NewWorkspace
from models.settings import Settings
from tests.api.conftest import Traffic
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


def doubling(levels: int, *, on: str, root: str) -> str:
    """A document of `levels` fragments, each spreading the next one twice: 2^levels fields
    if every spread were expanded."""
    fragments = " ".join(
        f"fragment F{i} on {on} {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"{{ {root} {{ ...F0 }} }} {fragments} fragment F{levels} on {on} {{ id }}"


async def test_fragments_spreading_each_other_twice_are_refused_at_once(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    # The document had 24 levels and took 158 s; each level doubled the time.
    for levels in (20, 24, 190):
        # CPU time of this process (the app runs in it), not wall time: on a busy machine the
        # wall clock measured everyone's work (1.04 s once at load average 13).
        started = time.process_time()
        response = await api_client.post(
            "/graphql",
            json={"query": doubling(levels, on="Workspace", root="workspace")},
            headers=auth(workspace),
        )
        elapsed = time.process_time() - started
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "QUERY_TOO_COSTLY", error
        # Figures past 2^53 are reported as 2^53 - 1: JSON parsers read no more exactly.
        assert error["extensions"]["cost"] == min(1 + 2**levels, 2**53 - 1)
        assert elapsed < 1, f"{levels} levels took {elapsed:.1f} s"


async def test_fragments_spreading_each_other_twice_under_the_cost_limit_run_at_once(
    api_client: AsyncTestClient[Litestar], traffic: Traffic
):
    # 2^17 fields: under the cost limit, so it runs; the click resolver reads what it selects
    # without expanding the spreads. CPU time of this process, as above.
    started = time.process_time()
    response = await api_client.post(
        "/graphql",
        json={"query": doubling(17, on="Click", root=f'click(id: "{traffic.buyer}")')},
        headers={"Authorization": f"Bearer {traffic.campaign.workspace.admin_api_key}"},
    )
    elapsed = time.process_time() - started
    assert response.json()["data"] == {"click": {"id": traffic.buyer}}
    assert elapsed < 1, f"took {elapsed:.1f} s"


async def test_aliases_in_a_fragment_count_each_time_it_is_spread(
    engine: AsyncEngine, settings: Settings, workspace: NewWorkspace
):
    query = """
      { a: workspace { ...Names } b: workspace { ...Names } }
      fragment Names on Workspace { n: name t: timezone }
    """
    async with client_with(settings, api_max_aliases=5) as client:
        response = await client.post("/graphql", json={"query": query}, headers=auth(workspace))
    [error] = response.json()["errors"]
    assert error["message"] == "6 aliases found. Allowed: 5"
    assert error["extensions"] == {
        "requestId": ANY,
        "code": "TOO_MANY_ALIASES",
        "aliases": 6,
        "limit": 5,
    }


async def test_depth_counts_fragments_where_they_are_spread(
    engine: AsyncEngine, settings: Settings, workspace: NewWorkspace
):
    query = """
      { clicks { nodes { ...Deep } } }
      fragment Deep on Click { transactions { click { campaign { name } } } }
    """
    async with client_with(settings, api_max_query_depth=4) as client:
        response = await client.post("/graphql", json={"query": query}, headers=auth(workspace))
    [error] = response.json()["errors"]
    assert error["message"] == "'anonymous' exceeds maximum operation depth of 4"
    assert error["extensions"] == {
        "requestId": ANY,
        "code": "QUERY_TOO_DEEP",
        "depth": 5,
        "limit": 4,
    }


def chain(levels: int) -> str:
    fragments = " ".join(f"fragment F{i} on Workspace {{ ...F{i + 1} }}" for i in range(levels))
    return f"{{ workspace {{ ...F0 }} }} {fragments} fragment F{levels} on Workspace {{ id }}"


async def test_a_chain_of_fragments_as_long_as_the_token_limit_allows_is_answered(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    # The limits measure a chain without recursion; graphql-core's own rules recurse, and
    # give up on the longest chains.
    response = await api_client.post(
        "/graphql", json={"query": chain(150)}, headers=auth(workspace)
    )
    assert response.json()["data"] == {"workspace": {"id": str(workspace.workspace.id)}}
    response = await api_client.post(
        "/graphql", json={"query": chain(240)}, headers=auth(workspace)
    )
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["message"].startswith("the document is too complex to validate")
    assert error["extensions"] == {"requestId": ANY, "code": "GRAPHQL_VALIDATION_FAILED"}
