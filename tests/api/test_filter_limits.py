"""How large a click filter may be: refused with a clear input error before any SQL is built."""

import time
from typing import Any
from unittest.mock import ANY

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import Traffic, statements
from tests.api.graphql import execute

CLICKS = "query ($f: ClickFilter) { clicks(filter: $f) { nodes { id } } }"
REPORT = "query ($f: ClickFilter) { report(filter: $f) { totalRows } }"


def nested_or(width: int, depth: int) -> dict[str, Any]:
    if depth == 0:
        return {"countries": ["DE"]}
    return {"or": [nested_or(width, depth - 1) for _ in range(width)]}


def nested_not(depth: int) -> dict[str, Any]:
    return {"countries": ["DE"]} if depth == 0 else {"not": nested_not(depth - 1)}


async def test_the_issues_huge_filters_are_refused_at_once(
    api_client: AsyncTestClient[Litestar], traffic: Traffic
):
    key = traffic.campaign.workspace.admin_api_key
    for name, filter_, status, message in (
        # 630 kB: 27,000 filters. It took 7-14 s and blocked /health.
        ("30 x 30 x 30", nested_or(30, 3), 400, "variables hold more than 10000 values"),
        # 1,000 entries of 1,000 sub values each: 8 s, then "Unexpected error.".
        (
            "1,000 x 1,000 subs",
            {"or": [{"subs": [{"index": 1, "values": ["v"] * 1_000}]}] * 1_000},
            413,
            "the body is over 1048576 bytes",
        ),
    ):
        started = time.perf_counter()
        response = await api_client.post(
            "/graphql",
            json={"query": CLICKS, "variables": {"f": filter_}},
            headers={"Authorization": f"Bearer {key}"},
        )
        elapsed = time.perf_counter() - started
        assert response.status_code == status, name
        [error] = response.json()["errors"]
        assert error["message"].startswith(message), name
        assert error["extensions"] == {"requestId": ANY, "code": "BAD_REQUEST"}
        assert elapsed < 2, f"{name} took {elapsed:.1f} s"


@pytest.mark.parametrize(
    ("filter_", "message"),
    [
        (nested_not(6), "filters nest at most 5 levels deep"),
        (
            nested_or(51, 1),
            "a filter holds at most 50 filters in all (itself and those under and, or, not)",
        ),
        (
            {"countries": ["DE"] * 1_000, "oses": ["x"] * 1_000, "browsers": ["y"] * 1_000}
            | {"deviceTypes": ["z"] * 1_000, "eventTypes": ["t"] * 1_000, "or": [{"oses": ["o"]}]},
            "a filter holds at most 5000 values in all",
        ),
        ({"countries": ["DE"] * 1_001}, "countries takes at most 1000 values"),
        ({"subs": [{"index": 0, "values": ["a"]}]}, "sub index must be 1 to 20, got 0"),
    ],
)
async def test_a_filter_over_a_limit_is_refused_before_any_sql(
    api_client: AsyncTestClient[Litestar],
    engine: AsyncEngine,
    traffic: Traffic,
    filter_: dict[str, Any],
    message: str,
):
    key = traffic.campaign.workspace.admin_api_key
    for query in (CLICKS, REPORT):
        with statements(engine) as executed:
            body = await execute(api_client, key, query, {"f": filter_})
        [error] = body["errors"]
        assert error["message"] == message
        assert error["extensions"] == {"requestId": ANY, "code": "INVALID_INPUT"}
        assert not [sql for sql in executed if "clicks" in sql], executed


async def test_the_largest_filter_allowed_is_answered(
    api_client: AsyncTestClient[Litestar], traffic: Traffic
):
    # 50 filters and 5,000 values.
    leaf = {"countries": ["DE"] * 50, "subs": [{"index": 1, "values": ["alpha"] * 47}]}
    filter_ = {"or": [leaf] * 49, "oses": ["x"] * 49}
    body = await execute(
        api_client, traffic.campaign.workspace.admin_api_key, CLICKS, {"f": filter_}
    )
    assert "errors" not in body, body["errors"]


async def test_one_filter_in_many_aliases_counts_each_time(
    api_client: AsyncTestClient[Litestar], traffic: Traffic
):
    # Strawberry turns the variable into Python once per alias: 31 x 50 filters of 21 fields.
    filter_ = nested_or(49, 1)
    # The alias limit's 30, and the field itself.
    aliases = " ".join(f"a{i}: clicks(filter: $f) {{ nodes {{ id }} }}" for i in range(30))
    aliases += " clicks(filter: $f) { nodes { id } }"
    started = time.perf_counter()
    body = await execute(
        api_client,
        traffic.campaign.workspace.admin_api_key,
        f"query ($f: ClickFilter) {{ {aliases} }}",
        {"f": filter_},
    )
    elapsed = time.perf_counter() - started
    [error] = body["errors"]
    assert error["message"].startswith("the arguments are too large")
    # 20 fields of 25 for each of the 50 filters, and the 98 list items, 31 times.
    assert error["extensions"] == {
        "requestId": ANY,
        "code": "INPUT_TOO_LARGE",
        "size": 31 * (50 * 20 * 25 + 98),
        "limit": 50_000,
    }
    assert elapsed < 1, f"took {elapsed:.1f} s"
