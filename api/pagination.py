"""Cursor connections: keyset pagination on (time, id), never offsets."""

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from sqlalchemy import ColumnElement, Row, Select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from api.database import fetch_all
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
After = Annotated[
    str | None,
    strawberry.argument(description="endCursor of the previous page, of this field and order."),
]


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


@dataclass(frozen=True, slots=True)
class CursorScope:
    """The list a cursor pages through: one connection field in one order.

    A position read in another order, or in another list, would skip or repeat rows without a
    word, so a cursor carries its scope and only that scope takes it back.
    """

    field: str
    order: str


# Marks the cursor format; cursors of the earlier format (time|id alone) carry none.
_VERSION = "v2"


async def newest_first(
    engine: AsyncEngine,
    statement: Select[Any],
    *,
    time: ColumnElement[datetime],
    id_: ColumnElement[int],
    after: Position | None,
    size: int,
) -> Sequence[Row[Any]]:
    """Up to ``size`` + 1 rows of ``statement``, newest first, after ``after``: keyset on
    (time, id) for rows whose id is an integer."""
    if after is not None:
        try:
            after_id = int(after.id)
        except ValueError:
            raise QueryInputError("cursor is not one this API returned") from None
        statement = statement.where(tuple_(time, id_) < tuple_(after.time, after_id))
    return await fetch_all(engine, statement.order_by(time.desc(), id_.desc()).limit(size + 1))


def cursor_prefix(scope: CursorScope) -> str:
    """What every cursor of ``scope`` starts with, before the row's time and id."""
    return f"{_VERSION}|{scope.field}|{scope.order}|"


def encode_cursor(position: Position, scope: CursorScope) -> str:
    raw = f"{cursor_prefix(scope)}{position.time.isoformat()}|{position.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, scope: CursorScope) -> Position:
    unknown = QueryInputError(
        f"cursor {cursor[:60]!r} is not one this API returned (cursors from an earlier version "
        "no longer work); pass an endCursor unchanged, or start again without `after`"
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, field, order, time, row_id = raw.split("|", 4)
        position = Position(datetime.fromisoformat(time), row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise unknown from None
    if version != _VERSION or not position.id or position.time.tzinfo is None:
        raise unknown
    if field != scope.field:
        raise QueryInputError(
            f"this cursor was made for {field}, not {scope.field}; pass `after` only to the "
            "list it came from, or start again without it"
        )
    if order != scope.order:
        raise QueryInputError(
            f"this cursor was made for orderBy {order}; pass it with orderBy {order}, or start "
            f"again without `after` to page {scope.order}"
        )
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
    scope: strawberry.Private[CursorScope]
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
        return encode_cursor(self.position(row), self.scope)


def connection(
    nodes: Sequence[Node],
    *,
    has_next_page: bool,
    after: str | None,
    position: Callable[[Node], Position],
    scope: CursorScope,
    count: Callable[[], Awaitable[int]],
) -> Connection[Node]:
    return Connection(
        rows=list(nodes),
        has_next_page=has_next_page,
        after=after,
        position=position,
        scope=scope,
        count=count,
    )
