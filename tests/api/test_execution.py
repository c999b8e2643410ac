"""The plain-data executor answers exactly as graphql-core's own path does, only cheaper."""

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
import strawberry
from graphql import GraphQLResolveInfo, get_introspection_query
from litestar import Litestar
from litestar.testing import AsyncTestClient
from strawberry.extensions import FieldExtension, SchemaExtension
from strawberry.permission import BasePermission
from strawberry.scalars import JSON
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

from api.execution import PlainDataExecutor
from api.schema import build_schema
from models.settings import Settings
from tests.api.conftest import Traffic
from tests.api.graphql import execute

WHEN = datetime(2026, 11, 25, 12, 30, tzinfo=UTC)


@strawberry.enum
class Color(Enum):
    RED = "red"
    GREEN = "green"


@strawberry.type
class Leaf:
    name: str
    size: int | None
    ratio: float
    flag: bool
    color: Color
    maybe_color: Color | None
    when: datetime
    amount: Decimal
    data: JSON
    tags: list[str | None]


@strawberry.type
class Node:
    id: strawberry.ID
    leaf: Leaf | None
    required: Leaf
    leaves: list[Leaf]
    grid: list[list[int]] | None


class Deny(BasePermission):
    message = "not for you"
    calls = 0

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        Deny.calls += 1
        return False


class Upper(FieldExtension):
    def resolve(self, next_: Callable[..., Any], source: Any, info: strawberry.Info, **kwargs):
        return next_(source, info, **kwargs).upper()


@strawberry.type
class Guarded:
    public: str
    secret: str | None = strawberry.field(permission_classes=[Deny])
    loud: str = strawberry.field(extensions=[Upper()])

    @strawberry.field
    def computed(self) -> str:
        return self.public * 2


def leaf(n: int, **changes: Any) -> Leaf:
    values: dict[str, Any] = {
        "name": f"leaf {n}",
        "size": None if n % 3 == 0 else n,
        "ratio": n / 7,
        "flag": n % 2 == 0,
        "color": Color.RED if n % 2 else Color.GREEN,
        "maybe_color": None if n % 4 == 0 else Color.GREEN,
        "when": WHEN,
        "amount": Decimal("12.50") + n,
        "data": {"n": n, "list": [1, "two", None]},
        "tags": ["a", None, f"t{n}"],
    }
    return Leaf(**{**values, **changes})


def node(n: int, **changes: Any) -> Node:
    values: dict[str, Any] = {
        "id": strawberry.ID(f"node{n}"),
        "leaf": None if n % 5 == 0 else leaf(n),
        "required": leaf(n + 100),
        "leaves": [leaf(n * 10 + k) for k in range(n % 3)],
        "grid": None if n % 2 else [[n, n + 1], []],
    }
    return Node(**{**values, **changes})


def nodes(count: int) -> list[Node]:
    return [node(n) for n in range(count)]


@strawberry.type
class Query:
    @strawberry.field
    def nodes(self, info: strawberry.Info) -> list[Node]:
        make: Callable[[], list[Node]] = info.root_value["nodes"]
        return make()

    @strawberry.field
    def node(self, info: strawberry.Info) -> Node:
        make: Callable[[], list[Node]] = info.root_value["nodes"]
        return make()[0]

    @strawberry.field
    def guarded(self) -> list[Guarded]:
        return [Guarded(public=f"p{n}", secret=f"s{n}", loud=f"l{n}") for n in range(3)]


FAST = strawberry.Schema(query=Query, execution_context_class=PlainDataExecutor)
NORMAL = strawberry.Schema(
    query=Query, execution_context_class=StrawberryGraphQLCoreExecutionContext
)

EVERYTHING = """
query ($withLeaf: Boolean!, $skipGrid: Boolean!) {
  nodes {
    __typename
    id
    key: id
    leaf @include(if: $withLeaf) { ...Parts }
    required { __typename name alias: size ... on Leaf { color } }
    leaves { ...Parts tags }
    grid @skip(if: $skipGrid)
    again: leaves { name }
  }
}
fragment Parts on Leaf {
  name size ratio flag color maybeColor when amount data
}
"""


def answer(result: Any) -> str:
    """The response as a client reads it, key order included."""
    errors = [error.formatted for error in result.errors or ()]
    return json.dumps({"data": result.data, "errors": errors}, default=str)


async def both(
    query: str, make: Callable[[], list[Node]], variables: dict[str, Any] | None = None
) -> tuple[str, str]:
    """The answers of the fast and the normal executor; `make` builds fresh values for each."""
    fast = await FAST.execute(query, variable_values=variables, root_value={"nodes": make})
    normal = await NORMAL.execute(query, variable_values=variables, root_value={"nodes": make})
    return answer(fast), answer(normal)


@pytest.fixture
def field_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the fields Strawberry's resolvers are asked for, in order."""
    reads: list[str] = []
    original = StrawberryField.get_result

    def counted(self: StrawberryField, *args: Any, **kwargs: Any) -> Any:
        reads.append(self.python_name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StrawberryField, "get_result", counted)
    return reads


@pytest.mark.parametrize(
    "variables",
    [{"withLeaf": True, "skipGrid": False}, {"withLeaf": False, "skipGrid": True}],
)
async def test_plain_fields_answer_as_graphql_core_does(variables: dict[str, Any]):
    fast, normal = await both(EVERYTHING, lambda: nodes(12), variables)
    assert fast == normal
    assert '"key": "node1"' in fast
    assert '"__typename": "Node"' in fast
    assert ('"leaf"' in fast) is variables["withLeaf"]


async def test_a_list_of_plain_objects_reads_no_field_through_a_resolver(field_reads: list[str]):
    result = await FAST.execute(
        EVERYTHING, {"withLeaf": True, "skipGrid": False}, None, {"nodes": lambda: nodes(500)}
    )
    assert not result.errors
    assert result.data is not None
    assert len(result.data["nodes"]) == 500
    assert field_reads == ["nodes"]


async def test_the_normal_path_reads_every_field_through_a_resolver(field_reads: list[str]):
    # What the test above rules out: without the fast path, thousands of resolver calls.
    await NORMAL.execute(
        EVERYTHING, {"withLeaf": True, "skipGrid": False}, None, {"nodes": lambda: nodes(50)}
    )
    assert len(field_reads) > 50 * 20


@pytest.mark.parametrize(
    ("what", "make"),
    [
        ("a null in a non-null object", lambda: [node(1), node(2, required=None), node(3)]),
        ("a null in a non-null leaf", lambda: [node(1, required=leaf(1, name=None))]),
        ("a null in a non-null list", lambda: [node(1, leaves=None)]),
        ("a null item in a non-null list", lambda: [node(1, leaves=[leaf(1), None])]),
        ("an Int out of range", lambda: [node(1, leaf=leaf(1, size=2**40))]),
        ("a float that is no number", lambda: [node(1, leaf=leaf(1, ratio=float("nan")))]),
        ("a dict for a String", lambda: [node(1, required=leaf(1, name={"no": 1}))]),
        ("a value no enum member has", lambda: [node(1, leaf=leaf(1, color="purple"))]),
        ("a string for a list", lambda: [node(1, leaves=leaf(1))]),
        ("an exception as a value", lambda: [node(1, leaf=leaf(1, size=ValueError("boom")))]),
        ("an exception as a JSON value", lambda: [node(1, leaf=leaf(1, data=ValueError("boom")))]),
        ("an exception as an object", lambda: [node(1, leaf=ValueError("boom"))]),
        ("an int for a String", lambda: [node(1, leaf=leaf(1, name=42))]),
        ("an int for a Float", lambda: [node(1, leaf=leaf(1, ratio=3))]),
        ("an enum's raw value", lambda: [node(1, leaf=leaf(1, color="red"))]),
        ("a generator for a list", lambda: [node(1, leaves=(leaf(n) for n in range(3)))]),
        ("a set for a list", lambda: [node(1, required=leaf(1, tags={"only"}))]),
    ],
)
async def test_values_the_fast_path_refuses_answer_as_graphql_core_does(
    what: str, make: Callable[[], list[Node]]
):
    fast, normal = await both(EVERYTHING, make, {"withLeaf": True, "skipGrid": False})
    assert fast == normal, what


async def test_an_awaitable_in_a_plain_attribute_is_awaited():
    async def later(n: int) -> int:
        await asyncio.sleep(0)
        return n

    fast, normal = await both(
        "{ nodes { leaf { size data } } }",
        lambda: [node(1, leaf=leaf(1, size=later(7), data=later(8)))],
    )
    assert fast == normal
    assert '"size": 7, "data": 8' in fast


class LeafLikeError(Exception):
    """An exception with a leaf's attributes: graphql-core raises it, never reads it."""

    size = 1
    maybe_color = None


async def test_an_exception_standing_in_for_an_object_is_raised_not_read():
    fast, normal = await both(
        "{ nodes { leaf { size maybeColor } } }", lambda: [node(1, leaf=LeafLikeError("odd"))]
    )
    assert fast == normal
    assert '"message": "odd"' in fast


async def test_errors_of_a_single_object_propagate_to_the_root_as_graphql_core_does():
    fast, normal = await both("{ node { required { name } } }", lambda: [node(1, required=None)])
    assert fast == normal
    assert '"data": null' in fast


async def test_permission_classes_and_field_extensions_run_for_every_row(field_reads: list[str]):
    Deny.calls = 0
    query = "{ guarded { public secret loud computed } }"
    fast = await FAST.execute(query)
    assert Deny.calls == 3
    assert field_reads.count("secret") == 0  # denied before it is read
    assert field_reads.count("loud") == 3
    assert field_reads.count("public") == 0  # plain
    normal = await NORMAL.execute(query)
    assert answer(fast) == answer(normal)
    assert fast.data is not None
    assert fast.errors is not None
    assert [row["secret"] for row in fast.data["guarded"]] == [None, None, None]
    assert [error.message for error in fast.errors] == ["not for you"] * 3
    assert [row["loud"] for row in fast.data["guarded"]] == ["L0", "L1", "L2"]
    assert [row["computed"] for row in fast.data["guarded"]] == ["p0p0", "p1p1", "p2p2"]


async def test_a_schema_extension_resolving_fields_sees_every_field():
    seen: list[str] = []

    class Watch(SchemaExtension):
        def resolve(
            self,
            _next: Callable[..., Any],
            root: Any,
            info: GraphQLResolveInfo[Any],
            *args: str,
            **kwargs: Any,
        ) -> object:
            seen.append(info.field_name)
            return _next(root, info, *args, **kwargs)

    schema = strawberry.Schema(
        query=Query, extensions=[Watch], execution_context_class=PlainDataExecutor
    )
    result = await schema.execute(
        "{ nodes { id required { name } } }", root_value={"nodes": lambda: nodes(2)}
    )
    assert not result.errors
    assert seen.count("name") == 2
    assert seen.count("id") == 2


async def test_introspection_answers_as_graphql_core_does():
    query = get_introspection_query(descriptions=True)
    fast = await FAST.execute(query)
    normal = await NORMAL.execute(query)
    assert not fast.errors
    assert answer(fast) == answer(normal)


async def test_the_api_extensions_see_the_same_answers():
    # Masking, cost, token and depth limits, as the API's schema runs them.
    fast_schema = build_schema(Settings(_env_file=None), query=Query, mutation=None)
    normal_schema = build_schema(Settings(_env_file=None), query=Query, mutation=None)
    normal_schema.execution_context_class = StrawberryGraphQLCoreExecutionContext
    assert fast_schema.execution_context_class is PlainDataExecutor
    query = "{ nodes { id required { name size } leaf { color } } }"
    for make in (lambda: nodes(3), lambda: [node(1), node(2, required=None)]):
        fast = await fast_schema.execute(query, root_value={"nodes": make})
        normal = await normal_schema.execute(query, root_value={"nodes": make})
        assert answer(fast) == answer(normal)
        assert fast.extensions == normal.extensions
        assert fast.extensions is not None
        assert fast.extensions["cost"]["requested"] > 0
    assert fast.errors is not None
    assert [error.message for error in fast.errors] == ["Unexpected error."]


# --- the API --------------------------------------------------------------------------------

API_QUERY = """
query ($id: ID!) {
  clicks(first: 10) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id __typename } }
    nodes {
      id createdAt ip userAgent deviceType os browser isBot isUnique country referrer
      externalId cost subs params
      campaign { id key name costModel costValue status trafficSource { name } }
      offer { id name url payout currency status }
      trafficSource { id name clickIdParam status }
      conversions { type txid status amount originalAmount createdAt secondsFromClick }
      transactions { txid amount status conversionType { name } }
      events(types: ["transaction"]) { txid }
    }
  }
  click(id: $id) { id c: campaign { n: name } }
  report(groupBy: [CAMPAIGN, COUNTRY], timeBucket: DAY) {
    rows {
      bucket country campaign { name } offer { name } trafficSource { name }
      subs { index value }
      clicks uniqueClicks botClicks conversions transactions revenue cost profit roi cr epc cpa
      byType { type count revenue }
    }
    totals { clicks revenue byType { type count } }
    table { columns rows }
    totalRows
    source
  }
}
"""


async def test_the_api_answers_the_same_with_and_without_the_fast_path(
    api_client: AsyncTestClient[Litestar],
    traffic: Traffic,
    monkeypatch: pytest.MonkeyPatch,
    field_reads: list[str],
):
    key = traffic.campaign.workspace.admin_api_key
    variables = {"id": traffic.buyer}
    fast = await execute(api_client, key, API_QUERY, variables)
    # The API's schema runs the fast path: its plain fields are not read through resolvers
    # (those with a resolver below them are: a campaign's trafficSource, say).
    plain = {"id", "created_at", "cost", "offer", "name", "bucket", "unique_clicks", "by_type"}
    assert not plain & set(field_reads)
    for name in ("execute_fields", "complete_value"):
        monkeypatch.setattr(
            PlainDataExecutor, name, getattr(StrawberryGraphQLCoreExecutionContext, name)
        )
    normal = await execute(api_client, key, API_QUERY, variables)
    assert "unique_clicks" in field_reads
    assert "errors" not in fast, fast
    assert len(fast["data"]["clicks"]["nodes"]) == 4
    assert json.dumps(fast) == json.dumps(normal)
