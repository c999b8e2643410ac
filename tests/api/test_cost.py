"""The static query cost: how documents are costed, and how the API refuses and reports it."""

from typing import Any
from unittest.mock import ANY

import pytest
from graphql import build_schema, parse, validate
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.cost import query_cost
from api.workspaces.service import NewWorkspace
from models.settings import Settings

# Shaped like the reporting API: pages with `first`, plain lists, an interface and a union.
SCHEMA = build_schema(
    """
    type Query {
      clicks(first: Int = 50, after: String): ClickConnection!
      click(id: ID!): Click
      campaigns: [Campaign!]!
      search(text: String!): [SearchHit!]!
      node(id: ID!): Node
    }
    interface Node { id: ID! }
    type ClickConnection { edges: [ClickEdge!]! total: Int! }
    type ClickEdge { cursor: String! node: Click! }
    type Click implements Node {
      id: ID! country: String
      conversions(first: Int): [Conversion!]!
      events(types: [String!], first: Int! = 10): [Conversion!]!
    }
    type Conversion implements Node { id: ID! payout: Float! }
    type Campaign implements Node { id: ID! name: String! }
    union SearchHit = Click | Campaign
    """
)


def cost(document: str, variables: dict[str, Any] | None = None, operation: str | None = None):
    parsed = parse(document)
    assert validate(SCHEMA, parsed) == []
    return query_cost(SCHEMA, parsed, operation_name=operation, variables=variables)


def test_every_field_costs_one():
    assert cost("{ click(id: 1) { id country } }") == 3


def test_first_multiplies_the_selection():
    # clicks 1 + 1,000 x (edges 1 + cursor 1 + node 1 + id 1)
    assert cost("{ clicks(first: 1000) { edges { cursor node { id } } } }") == 4_001


def test_the_schema_default_of_first_applies_when_it_is_not_given():
    assert cost("{ clicks { total } }") == 1 + 50 * 1


def test_first_without_a_default_counts_once():
    assert cost("{ click(id: 1) { conversions { id } } }") == 3


def test_lists_without_first_count_their_selection_once():
    assert cost("{ campaigns { id name } }") == 3


def test_nested_pages_multiply():
    document = "{ clicks(first: 1000) { edges { node { conversions(first: 1000) { id } } } } }"
    assert cost(document) == 1 + 1000 * (1 + 1 + 1 + 1000 * 1)


def test_first_from_a_variable_its_default_and_the_schema_default():
    document = """query ($n: Int = 7, $m: Int) {
      a: clicks(first: $n) { total } b: clicks(first: $m) { total }
    }"""
    assert cost(document, {"n": 100}) == (1 + 100) + (1 + 50)
    assert cost(document) == (1 + 7) + (1 + 50)
    assert cost(document, {"n": None, "m": 3}) == (1 + 50) + (1 + 3)


def test_variables_that_do_not_coerce_cost_the_defaults():
    assert cost("query ($n: Int) { clicks(first: $n) { total } }", {"n": "many"}) == 1 + 50


def test_fragments_and_inline_fragments_are_costed_where_they_are_spread():
    document = """
      query { clicks(first: 10) { edges { node { ...ClickParts } } } node(id: 1) { ...ClickParts } }
      fragment ClickParts on Click { id ... on Click { events(first: 2) { ...Paid } } }
      fragment Paid on Conversion { payout }
    """
    click_parts = 1 + 1 + 2 * 1
    assert cost(document) == (1 + 10 * (1 + 1 + click_parts)) + (1 + click_parts)


def test_every_type_condition_of_an_abstract_type_counts():
    document = '{ search(text: "x") { __typename ... on Click { id } ... on Campaign { id name } }}'
    assert cost(document) == 1 + 1 + 1 + 2


def test_a_fragment_spread_many_times_is_costed_quickly():
    # 2^30 spreads if expanded: costing each fragment once keeps this instant.
    fragments = "\n".join(
        f"fragment F{i} on Campaign {{ ...F{i + 1} ...F{i + 1} }}" for i in range(30)
    )
    document = f"{{ campaigns {{ ...F0 }} }}\n{fragments}\nfragment F30 on Campaign {{ id }}"
    assert cost(document) == 1 + 2**30


def test_the_named_operation_is_costed():
    document = "query Small { campaigns { id } } query Big { clicks(first: 100) { total } }"
    assert cost(document, operation="Small") == 2
    assert cost(document, operation="Big") == 101


@pytest.fixture
async def low_cost_client(engine: AsyncEngine, settings: Settings):
    async with AsyncTestClient(
        app=create_app(settings.model_copy(update={"api_max_query_cost": 4}))
    ) as client:
        yield client


async def test_every_response_reports_the_cost(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace, settings: Settings
):
    response = await api_client.post(
        "/graphql",
        json={"query": "{ workspace { id name } }"},
        headers={"Authorization": f"Bearer {workspace.admin_api_key}"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["workspace"]["name"] == "Acme Media"
    assert body["extensions"]["cost"] == {"requested": 3, "limit": settings.api_max_query_cost}


async def test_an_operation_over_the_limit_is_refused_without_running(
    low_cost_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    response = await low_cost_client.post(
        "/graphql",
        json={"query": "{ workspace { id name timezone currency } }"},
        headers={"Authorization": f"Bearer {workspace.admin_api_key}"},
    )
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"].startswith("query cost 5 is over the limit of 4")
    assert error["extensions"] == {
        "requestId": ANY,
        "code": "QUERY_TOO_COSTLY",
        "cost": 5,
        "limit": 4,
    }
    assert body["extensions"]["cost"] == {"requested": 5, "limit": 4}


async def test_an_operation_at_the_limit_runs(
    low_cost_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    response = await low_cost_client.post(
        "/graphql",
        json={"query": "{ workspace { id name timezone } }"},
        headers={"Authorization": f"Bearer {workspace.admin_api_key}"},
    )
    body = response.json()
    assert "errors" not in body
    assert body["data"]["workspace"]["timezone"] == "Europe/Berlin"
    assert body["extensions"]["cost"] == {"requested": 4, "limit": 4}
