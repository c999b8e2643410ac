"""Root query fields for clicks."""

from enum import StrEnum
from typing import Annotated

import strawberry

from api.click_filter import ClickFilter
from api.clicks import repository
from api.clicks.types import ClickType
from api.context import Context
from api.enums import graphql_enum
from api.pagination import (
    After,
    Connection,
    CursorScope,
    First,
    Position,
    connection,
    decode_cursor,
    page_size,
)
from api.permissions import CanRead
from api.reports.service import count_clicks
from api.selection import selection


@graphql_enum(
    "Order of a list of clicks.",
    NEWEST_FIRST="Latest click first.",
    OLDEST_FIRST="Earliest click first.",
)
class ClickOrder(StrEnum):
    NEWEST_FIRST = "newest_first"
    OLDEST_FIRST = "oldest_first"


@strawberry.type
class ClickQueries:
    @strawberry.field(
        permission_classes=[CanRead], description="Clicks matching the filter, a page at a time."
    )
    async def clicks(
        self,
        info: strawberry.Info[Context],
        filter: Annotated[
            ClickFilter | None, strawberry.argument(description="Which clicks.")
        ] = None,
        order_by: Annotated[
            ClickOrder, strawberry.argument(description="Newest (default) or oldest first.")
        ] = ClickOrder.NEWEST_FIRST,
        first: First = None,
        after: After = None,
    ) -> Connection[ClickType]:
        size = page_size(first)
        scope = CursorScope("clicks", order_by.name)
        workspace_id = info.context.principal.workspace_id
        engine = info.context.engine
        rows = await repository.page(
            engine,
            workspace_id=workspace_id,
            filter_=filter,
            after=None if after is None else decode_cursor(after, scope),
            size=size,
            newest_first=order_by is ClickOrder.NEWEST_FIRST,
        )
        page = selection(info)
        nodes = page.under("nodes") + page.under("edges", "node")
        return connection(
            await ClickType.load_many(info.context, rows[:size], nodes),
            has_next_page=len(rows) > size,
            after=after,
            position=lambda click: Position(click.created_at, click.id),
            scope=scope,
            count=lambda: count_clicks(
                engine,
                workspace_id=workspace_id,
                filter_=filter,
                timeout_ms=info.context.settings.report_timeout_ms,
            ),
        )

    @strawberry.field(
        permission_classes=[CanRead],
        description="One click by id; null when there is none in this workspace.",
    )
    async def click(
        self,
        info: strawberry.Info[Context],
        id: Annotated[strawberry.ID, strawberry.argument(description="Click id.")],
    ) -> ClickType | None:
        row = await info.context.loaders.click_by_id.load(id)
        if row is None:
            return None
        [click] = await ClickType.load_many(info.context, [row], selection(info))
        return click
