"""Root query fields for cost updates."""

from typing import Annotated

import strawberry

from api.context import Context
from api.costs import repository
from api.costs.types import CostUpdateType
from api.ids import parse_id
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

_SCOPE = CursorScope("costUpdates", "NEWEST_FIRST")


@strawberry.type
class CostUpdateQueries:
    @strawberry.field(
        permission_classes=[CanRead],
        description="Cost updates, newest first: who set which clicks' cost, when, from what "
        "to what.",
    )
    async def cost_updates(
        self,
        info: strawberry.Info[Context],
        campaign_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this campaign's.")
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[CostUpdateType]:
        size = page_size(first)
        workspace_id = info.context.principal.workspace_id
        engine = info.context.engine
        # An id that cannot name a row names no campaign: an empty list, as for another
        # workspace's campaign.
        campaign = None if campaign_id is None else (parse_id(campaign_id) or -1)
        rows = await repository.page(
            engine,
            workspace_id=workspace_id,
            campaign_id=campaign,
            after=None if after is None else decode_cursor(after, _SCOPE),
            size=size,
        )
        return connection(
            [CostUpdateType.from_row(row) for row in rows[:size]],
            has_next_page=len(rows) > size,
            after=after,
            position=lambda update: Position(update.created_at, update.id),
            scope=_SCOPE,
            count=lambda: repository.count(engine, workspace_id=workspace_id, campaign_id=campaign),
        )

    @strawberry.field(permission_classes=[CanRead], description="One cost update, or null.")
    async def cost_update(
        self,
        info: strawberry.Info[Context],
        id: Annotated[strawberry.ID, strawberry.argument(description="Cost update id.")],
    ) -> CostUpdateType | None:
        number = parse_id(id)
        if number is None:
            return None
        row = await repository.by_id(
            info.context.engine, workspace_id=info.context.principal.workspace_id, id=number
        )
        return None if row is None else CostUpdateType.from_row(row)
