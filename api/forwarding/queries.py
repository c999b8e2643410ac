"""Root query fields for forwards to traffic sources."""

from typing import Annotated

import strawberry

from api.context import Context
from api.forwarding import repository
from api.forwarding.filters import ForwardFilter
from api.forwarding.types import ForwardType
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
_SCOPE = CursorScope("forwards", "NEWEST_FIRST")


@strawberry.type
class ForwardingQueries:
    @strawberry.field(
        permission_classes=[CanRead],
        description="Conversions sent (or being sent) to traffic sources, newest first, with "
        "every attempt: did the source hear about it?",
    )
    async def forwards(
        self,
        info: strawberry.Info[Context],
        filter: Annotated[
            ForwardFilter | None, strawberry.argument(description="Which forwards.")
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[ForwardType]:
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
            [ForwardType.from_row(row) for row in rows[:size]],
            has_next_page=len(rows) > size,
            after=after,
            position=lambda forward: Position(forward.created_at, forward.id),
            scope=_SCOPE,
            count=lambda: repository.count(engine, workspace_id=workspace_id, filter_=filter),
        )
