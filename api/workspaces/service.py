"""Creating workspaces with everything a new tenant needs."""

import ipaddress
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import Maybe

from api.mutation_errors import InvalidInput, Missing
from api.values import time_zones
from api.workspaces import repository
from api.workspaces.credentials import new_api_key, new_postback_secret
from api.workspaces.repository import expire_postback_secrets, workspace_to_change
from models import ApiKey, ApiKeyHash, PostbackSecret, Workspace
from models.catalog import builtin_conversion_types
from models.enums import ApiScope, ConversionStatus

_CURRENCY = re.compile(r"[A-Z]{3}")
MAX_NAME_LENGTH = 200
MAX_ALLOWLIST = 100
MAX_STATUS_ALIASES = 100
MAX_ALIAS_LENGTH = 64
# HMAC keys shorter than this are guessable; longer ones gain nothing.
SIGNING_SECRET_LENGTHS = range(16, 257)


class WorkspaceInputError(InvalidInput, ValueError):
    """A workspace setting the user gave is not acceptable; the message says why."""


@dataclass(frozen=True, slots=True)
class NewWorkspace:
    workspace: Workspace
    postback_secret: str
    # Shown once; only its hash is stored.
    admin_api_key: str


async def create_workspace(
    session: AsyncSession, *, name: str, timezone: str = "UTC", currency: str = "USD"
) -> NewWorkspace:
    """Create a workspace with its postback secret, built-in conversion types and an admin key."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise WorkspaceInputError(f"name must be 1 to {MAX_NAME_LENGTH} characters")
    if timezone not in time_zones():
        raise WorkspaceInputError(
            f"unknown time zone {timezone[:60]!r}: use an IANA name such as Europe/Berlin"
        )
    if not _CURRENCY.fullmatch(currency):
        raise WorkspaceInputError(f"currency {currency!r} is not an ISO 4217 code such as USD")

    workspace = Workspace(name=name, timezone=timezone, currency=currency)
    session.add(workspace)
    await session.flush()
    assert workspace.id is not None

    secret = new_postback_secret()
    session.add(PostbackSecret(workspace_id=workspace.id, secret=secret))
    session.add_all(builtin_conversion_types(workspace.id))
    admin = await _issue_api_key(
        session, workspace_id=workspace.id, name="admin", scopes=[ApiScope.ADMIN, ApiScope.READ]
    )
    return NewWorkspace(workspace=workspace, postback_secret=secret, admin_api_key=admin.secret)


async def rotate_postback_secret(
    session: AsyncSession, *, workspace_id: int, grace: timedelta
) -> str:
    """Issue a new postback secret; the current ones keep working for ``grace``, then expire."""
    if grace < timedelta(0):
        raise WorkspaceInputError("the grace period cannot be negative")
    if await workspace_to_change(session, workspace_id) is None:
        raise WorkspaceInputError(f"workspace {workspace_id} does not exist")
    await expire_postback_secrets(session, workspace_id, at=datetime.now(UTC) + grace)
    secret = new_postback_secret()
    session.add(PostbackSecret(workspace_id=workspace_id, secret=secret))
    await session.flush()
    return secret


def _workspace_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise WorkspaceInputError(f"name must be 1 to {MAX_NAME_LENGTH} characters", field="name")
    return name


def _timezone(timezone: str) -> str:
    if timezone not in time_zones():
        raise WorkspaceInputError(
            f"unknown time zone {timezone[:60]!r}: use an IANA name such as Europe/Berlin",
            field="timezone",
        )
    return timezone


def _allowlist(cidrs: Collection[str]) -> list[str]:
    if len(cidrs) > MAX_ALLOWLIST:
        raise InvalidInput(f"at most {MAX_ALLOWLIST} networks", field="ipAllowlist")
    networks = []
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(cidr.strip())
        except ValueError:
            # Host bits set (10.0.0.5/24) is the usual slip; name the network meant.
            try:
                meant = ipaddress.ip_network(cidr.strip(), strict=False)
            except ValueError:
                raise InvalidInput(
                    f"{cidr!r} is not an IP address or CIDR network such as 203.0.113.0/24",
                    field="ipAllowlist",
                ) from None
            raise InvalidInput(
                f"{cidr!r} has host bits set: did you mean {meant}?", field="ipAllowlist"
            ) from None
        networks.append(str(network))
    return list(dict.fromkeys(networks))


def _status_aliases(aliases: Collection[tuple[str, ConversionStatus]]) -> dict[str, str]:
    if len(aliases) > MAX_STATUS_ALIASES:
        raise InvalidInput(f"at most {MAX_STATUS_ALIASES} aliases", field="statusAliases")
    # Ingestion matches the network's word case-insensitively.
    result: dict[str, str] = {}
    for word, status in aliases:
        key = word.strip().lower()
        if not key or len(key) > MAX_ALIAS_LENGTH:
            raise InvalidInput(
                f"an alias must be 1 to {MAX_ALIAS_LENGTH} characters", field="statusAliases"
            )
        if key in result:
            raise InvalidInput(f"alias {key!r} is given twice", field="statusAliases")
        result[key] = status.value
    return result


def _signing_secret(secret: str | None) -> str | None:
    if secret is not None and len(secret) not in SIGNING_SECRET_LENGTHS:
        raise InvalidInput(
            f"the signing secret must be {SIGNING_SECRET_LENGTHS.start} to "
            f"{SIGNING_SECRET_LENGTHS.stop - 1} characters",
            field="signingSecret",
        )
    return secret


async def update_workspace(
    session: AsyncSession,
    *,
    workspace_id: int,
    name: Maybe[str],
    timezone: Maybe[str],
    currency: Maybe[str],
    ip_allowlist: Maybe[list[str]],
    status_aliases: Maybe[Collection[tuple[str, ConversionStatus]]],
    signing_secret: Maybe[str | None],
) -> Workspace:
    """Change the given settings; the others stay as they are (all or none of them)."""
    workspace = await workspace_to_change(session, workspace_id)
    assert workspace is not None, "an API key cannot outlive its workspace"
    # Check everything before touching the row: the request commits whatever changed.
    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = _workspace_name(name.value)
    if timezone is not None and timezone.value != workspace.timezone:
        changes["timezone"] = _timezone(timezone.value)
    if currency is not None and currency.value != workspace.currency:
        changes["currency"] = await _new_currency(session, workspace, currency.value)
    if ip_allowlist is not None:
        changes["ip_allowlist"] = _allowlist(ip_allowlist.value)
    if status_aliases is not None:
        changes["status_aliases"] = _status_aliases(status_aliases.value)
    if signing_secret is not None:
        changes["signing_secret"] = _signing_secret(signing_secret.value)
    for field, value in changes.items():
        setattr(workspace, field, value)
    await session.flush()
    if "timezone" in changes:
        # Daily rollups hold local days of the zone they were written in.
        await repository.recount_daily_rollups(session, workspace_id)
    return workspace


async def _new_currency(session: AsyncSession, workspace: Workspace, currency: str) -> str:
    if not _CURRENCY.fullmatch(currency):
        raise InvalidInput(
            f"currency {currency!r} is not an ISO 4217 code such as USD", field="currency"
        )
    assert workspace.id is not None
    # Payouts are converted to the workspace currency when they arrive.
    if await repository.has_conversions(session, workspace.id):
        raise InvalidInput(
            "the currency cannot change once conversions are stored: their amounts are "
            f"in {workspace.currency}",
            field="currency",
        )
    return currency


async def regenerate_signing_secret(session: AsyncSession, *, workspace_id: int) -> str:
    """A new random HMAC key; postbacks signed with the old one are refused from now on."""
    workspace = await workspace_to_change(session, workspace_id)
    assert workspace is not None, "an API key cannot outlive its workspace"
    workspace.signing_secret = secrets.token_urlsafe(32)
    await session.flush()
    return workspace.signing_secret


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: ApiKey
    # Shown once; only its hash is stored.
    secret: str


async def create_api_key(
    session: AsyncSession, *, workspace_id: int, name: str, scopes: Collection[ApiScope]
) -> IssuedKey:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"name must be 1 to {MAX_NAME_LENGTH} characters", field="name")
    if not scopes:
        raise InvalidInput("give at least one scope", field="scopes")
    issued = await _issue_api_key(session, workspace_id=workspace_id, name=name, scopes=scopes)
    await session.refresh(issued.key)
    return issued


async def _issue_api_key(
    session: AsyncSession, *, workspace_id: int, name: str, scopes: Collection[ApiScope]
) -> IssuedKey:
    """A new key, its hash entered in the directory that requests find their workspace in."""
    issued = new_api_key()
    session.add(ApiKeyHash(secret_hash=issued.secret_hash, workspace_id=workspace_id))
    key = ApiKey(
        workspace_id=workspace_id,
        name=name,
        prefix=issued.prefix,
        secret_hash=issued.secret_hash,
        scopes=sorted({scope.value for scope in scopes}),
    )
    session.add(key)
    await session.flush()
    return IssuedKey(key=key, secret=issued.plaintext)


async def revoke_api_key(
    session: AsyncSession, *, workspace_id: int, id: int, caller_key_id: int
) -> ApiKey:
    """Revoke a key at once; revoking a revoked key keeps its first revocation time."""
    if id == caller_key_id:
        raise InvalidInput(
            "an API key cannot revoke itself, so an admin cannot lock themselves out: "
            "revoke it with another admin key",
            field="id",
        )
    key = await repository.api_key(session, workspace_id=workspace_id, id=id)
    if key is None:
        raise Missing(f"no API key with id {id}")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        await session.flush()
    return key
