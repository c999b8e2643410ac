"""Cursor connections: keyset pagination on (time, id), never offsets."""

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Generic, TypeVar

import strawberry

from api.errors import QueryInputError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1_000

Node = TypeVar("Node")

# The arguments of every connection field.
First = Annotated[
    int | None,
    strawberry.argument(
        description=f"Page size: default {DEFAULT_PAGE_SIZE}, at most {MAX_PAGE_SIZE}."
    ),
]
After = Annotated[str | None, strawberry.argument(description="endCursor of the previous page.")]


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise QueryInputError(f"first must be between 1 and {MAX_PAGE_SIZE}, got {first}")
    return first


@dataclass(frozen=True, slots=True)
class Position:
    """Where a row sits in a (time, id) ordering; a cursor encodes one."""

    time: datetime
    id: str


def encode_cursor(position: Position) -> str:
    raw = f"{position.time.isoformat()}|{position.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        time, _, row_id = raw.partition("|")
        position = Position(datetime.fromisoformat(time), row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise QueryInputError(
            f"cursor {cursor[:60]!r} is not one this API returned; pass an endCursor unchanged"
        ) from None
    if not position.id or position.time.tzinfo is None:
        raise QueryInputError(f"cursor {cursor[:60]!r} is not one this API returned")
    return position


@strawberry.type(description="Where a page sits in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="More rows follow; pass endCursor as `after` to get them."
    )
    has_previous_page: bool = strawberry.field(description="This page was asked for with `after`.")
    start_cursor: str | None = strawberry.field(description="Cursor of the page's first row.")
    end_cursor: str | None = strawberry.field(description="Cursor of the page's last row.")


@strawberry.type(description="A row of a page with its cursor.")
class Edge(Generic[Node]):
    cursor: str = strawberry.field(description="Pass as `after` to read on from this row.")
    node: Node = strawberry.field(description="The row.")


@strawberry.type(description="One page of a list, newest first unless ordered otherwise.")
class Connection(Generic[Node]):
    rows: strawberry.Private[list[Node]]
    has_next_page: strawberry.Private[bool]
    after: strawberry.Private[str | None]
    position: strawberry.Private[Callable[[Node], Position]]
    # Counting every matching row can cost more than the page: run only when asked for.
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    # Cursors only when asked for: one costs more than the rest of a plain row.
    @strawberry.field(description="The page's rows with their cursors.")
    def edges(self) -> list[Edge[Node]]:
        return [Edge(cursor=self._cursor(row), node=row) for row in self.rows]

    @strawberry.field(description="Whether more rows follow.")
    def page_info(self) -> PageInfo:
        return PageInfo(
            has_next_page=self.has_next_page,
            has_previous_page=self.after is not None,
            start_cursor=self._cursor(self.rows[0]) if self.rows else None,
            end_cursor=self._cursor(self.rows[-1]) if self.rows else None,
        )

    @strawberry.field(description="The page's rows without cursors.")
    def nodes(self) -> list[Node]:
        return self.rows

    @strawberry.field(description="How many rows match the filter, on all pages.")
    async def total_count(self) -> int:
        return await self.count()

    def _cursor(self, row: Node) -> str:
        return encode_cursor(self.position(row))


def connection(
    nodes: Sequence[Node],
    *,
    has_next_page: bool,
    after: str | None,
    position: Callable[[Node], Position],
    count: Callable[[], Awaitable[int]],
) -> Connection[Node]:
    return Connection(
        rows=list(nodes),
        has_next_page=has_next_page,
        after=after,
        position=position,
        count=count,
    )
