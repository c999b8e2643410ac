"""Root query fields about the caller's workspace."""

import strawberry
from strawberry.types import Info

from api.context import Context
from api.permissions import CanRead
from api.workspaces.repository import api_key_row, api_keys, read_workspace
from api.workspaces.types import ApiKeyType, WorkspaceType


@strawberry.type
class WorkspaceQueries:
    @strawberry.field(
        description="The workspace the API key belongs to.", permission_classes=[CanRead]
    )
    async def workspace(self, info: Info[Context, None]) -> WorkspaceType:
        row = await read_workspace(info.context.engine, info.context.principal.workspace_id)
        # A key cannot outlive its workspace (ON DELETE CASCADE), so the row exists.
        assert row is not None
        return WorkspaceType.from_row(row)

    @strawberry.field(
        description="The workspace's API keys, revoked ones included, oldest first; never "
        "their secrets.",
        permission_classes=[CanRead],
    )
    async def api_keys(self, info: Info[Context, None]) -> list[ApiKeyType]:
        rows = await api_keys(info.context.engine, workspace_id=info.context.principal.workspace_id)
        return [ApiKeyType.from_row(row) for row in rows]

    @strawberry.field(
        description="The API key this request is sent with: what it may do (a dashboard shows "
        "admin pages only to admin keys) and which listed key it is.",
        permission_classes=[CanRead],
    )
    async def current_api_key(self, info: Info[Context, None]) -> ApiKeyType:
        principal = info.context.principal
        row = await api_key_row(
            info.context.engine, workspace_id=principal.workspace_id, id=principal.api_key_id
        )
        # The request was authenticated by this key a moment ago, and keys are never deleted.
        assert row is not None
        return ApiKeyType.from_row(row)
