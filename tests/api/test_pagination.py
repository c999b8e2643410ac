"""Cursors are encoded only for what a query selects."""

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api import pagination
from api.pagination import Position
from tests.api.conftest import Traffic
from tests.api.graphql import data


@pytest.fixture
def encoded(monkeypatch: pytest.MonkeyPatch) -> list[Position]:
    positions: list[Position] = []
    original = pagination.encode_cursor

    def counted(position: Position) -> str:
        positions.append(position)
        return original(position)

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
    api_client: AsyncTestClient[Litestar],
    traffic: Traffic,
    encoded: list[Position],
    selection: str,
    cursors: int,
):
    key = traffic.campaign.workspace.admin_api_key
    page = (await data(api_client, key, f"{{ clicks {{ {selection} }} }}"))["clicks"]
    assert len(encoded) == cursors
    if "edges" in page:
        assert len(page["edges"]) == 4
