"""Root mutation fields for workspace settings, postback and signing secrets, and API keys."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

import strawberry

from api.arguments import FIELDS, ObjectId
from api.context import Context
from api.ids import required_id
from api.mutation_errors import InputError, NotFound, returns_errors
from api.permissions import IsAdmin
from api.workspaces import service
from api.workspaces.inputs import CreateApiKeyInput, UpdateWorkspaceInput
from api.workspaces.repository import read_workspace
from api.workspaces.types import ApiKeyType, WorkspaceType

MAX_GRACE_HOURS = 24 * 30


@strawberry.type(description="A new signing secret; shown this once.")
class SigningSecretIssued:
    workspace: WorkspaceType = strawberry.field(description="The workspace.")
    signing_secret: str = strawberry.field(
        description="The HMAC-SHA256 key postbacks must be signed with from now on."
    )


@strawberry.type(description="A new postback secret; the old ones keep working for a while.")
class PostbackSecretRotated:
    workspace: WorkspaceType = strawberry.field(
        description="The workspace; its postbackUrl and templates use the new secret."
    )
    postback_secret: str = strawberry.field(description="The new secret.")
    previous_secrets_expire_at: datetime = strawberry.field(
        description="When postbacks with an older secret start being refused."
    )


@strawberry.type(description="A new API key; the secret is shown this once, only its hash is kept.")
class ApiKeyCreated:
    api_key: ApiKeyType = strawberry.field(description="The key as listings show it.")
    secret: str = strawberry.field(description="Send it as 'Authorization: Bearer <secret>'.")


WorkspaceResult = Annotated[
    WorkspaceType | InputError,
    strawberry.union("WorkspaceResult", description="The workspace as saved, or why not."),
]
RotationResult = Annotated[
    PostbackSecretRotated | InputError,
    strawberry.union("PostbackSecretRotationResult", description="The new secret, or why not."),
]
ApiKeyCreationResult = Annotated[
    ApiKeyCreated | InputError,
    strawberry.union("ApiKeyCreationResult", description="The new key, or why not."),
]
ApiKeyResult = Annotated[
    ApiKeyType | NotFound | InputError,
    strawberry.union("ApiKeyResult", description="The key as saved, or why not."),
]


@strawberry.type
class WorkspaceMutations:
    @strawberry.mutation(description="Change the workspace settings.", permission_classes=[IsAdmin])
    @returns_errors
    async def update_workspace(
        self,
        info: strawberry.Info[Context],
        input: Annotated[UpdateWorkspaceInput, FIELDS],
    ) -> WorkspaceResult:
        aliases = input.status_aliases
        workspace = await service.update_workspace(
            info.context.session,
            workspace_id=info.context.principal.workspace_id,
            name=input.name,
            timezone=input.timezone,
            currency=input.currency,
            ip_allowlist=input.ip_allowlist,
            status_aliases=None
            if aliases is None
            else strawberry.Some([(alias.word, alias.status) for alias in aliases.value]),
            signing_secret=input.signing_secret,
        )
        return WorkspaceType.from_row(workspace)

    @strawberry.mutation(
        description="Require HMAC-signed postbacks with a new random secret, returned once; "
        "postbacks signed with the previous one are refused at once.",
        permission_classes=[IsAdmin],
    )
    async def regenerate_signing_secret(
        self, info: strawberry.Info[Context]
    ) -> SigningSecretIssued:
        session = info.context.session
        workspace_id = info.context.principal.workspace_id
        secret = await service.regenerate_signing_secret(session, workspace_id=workspace_id)
        workspace = await read_workspace(session, workspace_id)
        assert workspace is not None
        return SigningSecretIssued(
            workspace=WorkspaceType.from_row(workspace), signing_secret=secret
        )

    @strawberry.mutation(
        description="Issue a new postback secret. The current ones keep working for the grace "
        "period, so networks can be moved to the new URL, then are refused.",
        permission_classes=[IsAdmin],
    )
    @returns_errors
    async def rotate_postback_secret(
        self,
        info: strawberry.Info[Context],
        grace_hours: Annotated[
            int,
            strawberry.argument(description=f"0 (refuse the old ones now) to {MAX_GRACE_HOURS}."),
        ] = 24,
    ) -> RotationResult:
        if not 0 <= grace_hours <= MAX_GRACE_HOURS:
            return InputError(
                message=f"graceHours must be 0 to {MAX_GRACE_HOURS}", field="graceHours"
            )
        session = info.context.session
        workspace_id = info.context.principal.workspace_id
        grace = timedelta(hours=grace_hours)
        secret = await service.rotate_postback_secret(
            session, workspace_id=workspace_id, grace=grace
        )
        info.context.loaders.postback_secret.prime(None, secret, force=True)
        workspace = await read_workspace(session, workspace_id)
        assert workspace is not None
        return PostbackSecretRotated(
            workspace=WorkspaceType.from_row(workspace),
            postback_secret=secret,
            previous_secrets_expire_at=datetime.now(UTC) + grace,
        )

    @strawberry.mutation(description="Create an API key.", permission_classes=[IsAdmin])
    @returns_errors
    async def create_api_key(
        self,
        info: strawberry.Info[Context],
        input: Annotated[CreateApiKeyInput, FIELDS],
    ) -> ApiKeyCreationResult:
        issued = await service.create_api_key(
            info.context.session,
            workspace_id=info.context.principal.workspace_id,
            name=input.name,
            scopes=input.scopes,
        )
        return ApiKeyCreated(api_key=ApiKeyType.from_row(issued.key), secret=issued.secret)

    @strawberry.mutation(
        description="Revoke an API key at once. A key cannot revoke itself, so an admin "
        "cannot lock themselves out: use another admin key.",
        permission_classes=[IsAdmin],
    )
    @returns_errors
    async def revoke_api_key(self, info: strawberry.Info[Context], id: ObjectId) -> ApiKeyResult:
        key = await service.revoke_api_key(
            info.context.session,
            workspace_id=info.context.principal.workspace_id,
            id=required_id(id, "API key"),
            caller_key_id=info.context.principal.api_key_id,
        )
        return ApiKeyType.from_row(key)
