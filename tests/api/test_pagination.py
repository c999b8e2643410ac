"""Cursors: encoded only when a query selects them, taken back only by their list and order."""

import base64
from datetime import UTC, datetime

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api import pagination
from api.pagination import CursorScope, Position
from models.settings import Settings
from tests.api.conftest import Traffic
from tests.api.graphql import client_with, data, execute


@pytest.fixture
def encoded(monkeypatch: pytest.MonkeyPatch) -> list[Position]:
    positions: list[Position] = []
    original = pagination.encode_cursor

    def counted(position: Position, scope: CursorScope) -> str:
        positions.append(position)
        return original(position, scope)

    monkeypatch.setattr(pagination, "encode_cursor", counted)
    return positions


@pytest.mark.parametrize(
    ("selection", "cursors"),
    [
        ("nodes { id }", 0),
        ("totalCount nodes { id }", 0),
        ("pageInfo { hasNextPage }", 2),
        ("edges { node { id } }", 4),
        ("edges { cursor } pageInfo { endCursor }", 6),
    ],
)
async def test_a_page_encodes_cursors_only_when_asked_for(
    settings: Settings,
    traffic: Traffic,
    encoded: list[Position],
    selection: str,
    cursors: int,
):
    key = traffic.campaign.workspace.admin_api_key
    # The normal executor's connections (the compiled path writes cursors in SQL, each only
    # where selected).
    async with client_with(settings, api_compiled_reads=False) as client:
        page = (await data(client, key, f"{{ clicks {{ {selection} }} }}"))["clicks"]
    assert len(encoded) == cursors
    if "edges" in page:
        assert len(page["edges"]) == 4


CLICKS = """
query ($order: ClickOrder, $after: String) {
  clicks(orderBy: $order, first: 2, after: $after) { pageInfo { endCursor } }
}
"""
CONVERSIONS = "query ($after: String) { conversions(first: 1, after: $after) { totalCount } }"


async def _error(client: AsyncTestClient[Litestar], key: str, query: str, **variables: str) -> str:
    body = await execute(client, key, query, variables)
    assert body["data"] is None, body
    message: str = body["errors"][0]["message"]
    return message


async def test_a_cursor_is_refused_in_another_order(
    api_client: AsyncTestClient[Litestar], traffic: Traffic
):
    key = traffic.campaign.workspace.admin_api_key
    newest = (await data(api_client, key, CLICKS, {"order": "NEWEST_FIRST"}))["clicks"]
    after = newest["pageInfo"]["endCursor"]
    assert "this cursor was made for orderBy NEWEST_FIRST" in await _error(
        api_client, key, CLICKS, order="OLDEST_FIRST", after=after
    )
    # In its own order it reads on.
    same = await data(api_client, key, CLICKS, {"order": "NEWEST_FIRST", "after": after})
    assert same["clicks"]["pageInfo"]["endCursor"] is not None


async def test_a_cursor_is_refused_by_another_list(
    api_client: AsyncTestClient[Litestar], traffic: Traffic
):
    key = traffic.campaign.workspace.admin_api_key
    clicks = (await data(api_client, key, CLICKS))["clicks"]
    message = await _error(api_client, key, CONVERSIONS, after=clicks["pageInfo"]["endCursor"])
    assert "this cursor was made for clicks, not conversions" in message


async def test_a_cursor_of_the_earlier_format_asks_to_start_again(
    api_client: AsyncTestClient[Litestar], traffic: Traffic
):
    # The earlier format: base64 of "time|id", with no list or order.
    raw = f"{datetime.now(UTC).isoformat()}|{traffic.buyer}".encode()
    old = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    message = await _error(api_client, traffic.campaign.workspace.admin_api_key, CLICKS, after=old)
    assert "start again without `after`" in message
