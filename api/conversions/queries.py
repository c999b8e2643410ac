"""Root query fields for conversion events."""

from typing import Annotated

import strawberry

from api.context import Context
from api.conversions import repository
from api.conversions.filters import ConversionFilter
from api.conversions.types import ConversionEventType
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

# Always newest first: the field takes no orderBy.
_SCOPE = CursorScope("conversions", "NEWEST_FIRST")


@strawberry.type
class ConversionQueries:
    @strawberry.field(
        permission_classes=[CanRead],
        description="Conversions, transactions and custom events of every click, newest first.",
    )
    async def conversions(
        self,
        info: strawberry.Info[Context],
        filter: Annotated[
            ConversionFilter | None, strawberry.argument(description="Which events.")
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[ConversionEventType]:
        size = page_size(first)
        workspace_id = info.context.principal.workspace_id
        engine = info.context.engine
        rows = await repository.page(
            engine,
            workspace_id=workspace_id,
            filter_=filter,
            after=None if after is None else decode_cursor(after, _SCOPE),
            size=size,
        )
        return connection(
            [ConversionEventType.from_row(row) for row in rows[:size]],
            has_next_page=len(rows) > size,
            after=after,
            position=lambda event: Position(event.created_at, event.id),
            scope=_SCOPE,
            count=lambda: repository.count(engine, workspace_id=workspace_id, filter_=filter),
        )
