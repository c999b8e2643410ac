"""Root query fields about the caller's workspace."""

import strawberry
from strawberry.types import Info

from api.context import Context
from api.workspaces.repository import get_workspace
from api.workspaces.types import WorkspaceType


@strawberry.type
class WorkspaceQueries:
    @strawberry.field(description="The workspace the API key belongs to.")
    async def workspace(self, info: Info[Context, None]) -> WorkspaceType:
        row = await get_workspace(info.context.session, info.context.principal.workspace_id)
        # A key cannot outlive its workspace (ON DELETE CASCADE), so the row exists.
        assert row is not None
        return WorkspaceType.from_row(row)
