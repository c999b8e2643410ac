"""GraphQL inputs for workspace settings and API keys."""

import strawberry
from strawberry import Maybe

from api.enums import ApiScope, ConversionStatus


@strawberry.input(description="A network's own status word and the status it stands for.")
class StatusAliasInput:
    word: str = strawberry.field(description="What the network sends, e.g. 1 or rejected.")
    status: ConversionStatus = strawberry.field(description="What it means.")


@strawberry.input(
    description="Changes to the workspace settings; fields left out stay as they are."
)
class UpdateWorkspaceInput:
    name: Maybe[str] = strawberry.field(description="New display name.")
    timezone: Maybe[str] = strawberry.field(
        description="New IANA time zone, e.g. Europe/Berlin. Daily report figures are recounted "
        "in it before this returns: about 30 s per million clicks, during which the workspace's "
        "clicks and postbacks wait."
    )
    currency: Maybe[str] = strawberry.field(
        description="New ISO 4217 currency; only while no conversions are stored."
    )
    ip_allowlist: Maybe[list[str]] = strawberry.field(
        description="Replaces the postback IP allowlist: up to 100 CIDR networks or addresses; "
        "an empty list accepts postbacks from anywhere."
    )
    status_aliases: Maybe[list[StatusAliasInput]] = strawberry.field(
        description="Replaces the status aliases (up to 100)."
    )
    signing_secret: Maybe[str | None] = strawberry.field(
        description="Require HMAC-signed postbacks with this secret (16 to 256 characters); "
        "null stops requiring signatures. regenerateSigningSecret picks a random one."
    )


@strawberry.input(description="A new API key.")
class CreateApiKeyInput:
    name: str = strawberry.field(description="What the key is for, e.g. grafana.")
    scopes: list[ApiScope] = strawberry.field(
        description="READ: queries only. ADMIN: queries and mutations."
    )
