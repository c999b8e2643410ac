"""Root query fields for the postback log."""

from typing import Annotated

import strawberry

from api.context import Context
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
from api.postback_log import repository
from api.postback_log.filters import PostbackLogFilter
from api.postback_log.types import PostbackLogEntryType

# Always newest first: the field takes no orderBy.
_SCOPE = CursorScope("postbackLog", "NEWEST_FIRST")


@strawberry.type
class PostbackLogQueries:
    @strawberry.field(
        permission_classes=[CanRead],
        description="Every postback and pixel hit, accepted or refused, newest first: why "
        "did a network's postback not count?",
    )
    async def postback_log(
        self,
        info: strawberry.Info[Context],
        filter: Annotated[
            PostbackLogFilter | None, strawberry.argument(description="Which hits.")
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[PostbackLogEntryType]:
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
            [PostbackLogEntryType.from_row(row) for row in rows[:size]],
            has_next_page=len(rows) > size,
            after=after,
            position=lambda entry: Position(entry.received_at, entry.id),
            scope=_SCOPE,
            count=lambda: repository.count(engine, workspace_id=workspace_id, filter_=filter),
        )
