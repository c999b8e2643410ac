"""GraphQL types for workspaces."""

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Row

from api.context import Context
from api.enums import ApiScope, ConversionStatus
from models import ApiKey, Workspace
from models.settings import Settings, ingestion_url
from models.templates import tracking_templates


@strawberry.type(
    name="Workspace", description="A tenant: all data belongs to exactly one workspace."
)
class WorkspaceType:
    id: strawberry.ID = strawberry.field(description="Workspace id.")
    name: str = strawberry.field(description="Display name.")
    timezone: str = strawberry.field(description="IANA time zone reports use by default.")
    currency: str = strawberry.field(description="ISO 4217 currency all money is reported in.")
    created_at: datetime = strawberry.field(description="When the workspace was created.")
    ip_allowlist: list[str] = strawberry.field(
        description="Postbacks are accepted only from these CIDR networks; empty: from anywhere."
    )
    status_aliases: list["StatusAliasType"] = strawberry.field(
        description="A network's own status words, mapped to conversion statuses."
    )
    signing_enabled: bool = strawberry.field(
        description="Postbacks must carry an HMAC signature header (the secret is never shown)."
    )

    @strawberry.field(
        description="The S2S postback URL with the active secret, without parameters."
    )
    async def postback_url(self, info: strawberry.Info[Context]) -> str | None:
        secret = await info.context.loaders.postback_secret.load(None)
        if secret is None:
            return None
        return f"{ingestion_base_url(info.context).rstrip('/')}/postback/{secret}"

    @strawberry.field(description="Postback URLs and pixel snippets for this workspace.")
    async def templates(self, info: strawberry.Info[Context]) -> "TrackingTemplatesType | None":
        return await current_templates(info.context)

    @classmethod
    def from_row(cls, row: Workspace | Row[Any]) -> "WorkspaceType":
        assert row.id is not None
        assert row.created_at is not None
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            timezone=row.timezone,
            currency=row.currency,
            created_at=row.created_at,
            # asyncpg reads CIDR as ipaddress networks.
            ip_allowlist=[str(network) for network in row.ip_allowlist],
            status_aliases=[
                StatusAliasType(word=word, status=ConversionStatus(status))
                for word, status in sorted(row.status_aliases.items())
            ],
            signing_enabled=row.signing_secret is not None,
        )


@strawberry.type(name="StatusAlias", description="A network's own status word and what it means.")
class StatusAliasType:
    word: str = strawberry.field(description="What the network sends, matched case-insensitively.")
    status: ConversionStatus = strawberry.field(description="The status it stands for.")


@strawberry.type(
    name="TrackingTemplates",
    description=(
        "What to paste into a network or an advertiser's page. {clickid}, {payout}, {txid} and "
        "{status} stand for the network's macros; ORDER_ID and AMOUNT for values the page fills in."
    ),
)
class TrackingTemplatesType:
    postback_conversion: str = strawberry.field(description="S2S postback URL for a conversion.")
    postback_transaction: str = strawberry.field(
        description="S2S postback URL for a further transaction (type=transaction)."
    )
    pixel_conversion: str = strawberry.field(description="<img> pixel for a conversion.")
    pixel_transaction: str = strawberry.field(description="<img> pixel for a transaction.")
    pixel_script: str = strawberry.field(
        description="JavaScript pixel for a transaction that takes clickid from the page URL."
    )

    @classmethod
    def build(cls, base_url: str, secret: str) -> "TrackingTemplatesType":
        templates = tracking_templates(base_url, secret)
        return cls(
            postback_conversion=templates.postback_conversion,
            postback_transaction=templates.postback_transaction,
            pixel_conversion=templates.pixel_conversion,
            pixel_transaction=templates.pixel_transaction,
            pixel_script=templates.pixel_script,
        )


def ingestion_base_url(context: Context) -> str:
    """Where networks and browsers reach ingestion, as the templates show it."""
    assert context.request is not None
    settings: Settings = context.request.app.state.settings
    return ingestion_url(settings)


async def current_templates(context: Context) -> TrackingTemplatesType | None:
    secret = await context.loaders.postback_secret.load(None)
    if secret is None:
        return None
    return TrackingTemplatesType.build(ingestion_base_url(context), secret)


@strawberry.type(
    name="ApiKey", description="A key for this API; the secret itself is shown only once."
)
class ApiKeyType:
    id: strawberry.ID = strawberry.field(description="API key id.")
    name: str = strawberry.field(description="What the key is for.")
    prefix: str = strawberry.field(description="The secret's first characters, to tell keys apart.")
    scopes: list[ApiScope] = strawberry.field(description="What the key may do.")
    created_at: datetime = strawberry.field(description="When it was created.")
    last_used_at: datetime | None = strawberry.field(
        description="When it was last used (to the minute); null if never."
    )
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked; a revoked key is refused."
    )

    @classmethod
    def from_row(cls, row: ApiKey | Row[Any]) -> "ApiKeyType":
        assert row.created_at is not None
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            prefix=row.prefix,
            scopes=[ApiScope(scope) for scope in row.scopes],
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )
