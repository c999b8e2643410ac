"""Creating workspaces with everything a new tenant needs."""

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.workspaces.credentials import new_api_key, new_postback_secret
from api.workspaces.repository import expire_postback_secrets, get_workspace
from models import ApiKey, PostbackSecret, Workspace
from models.catalog import builtin_conversion_types
from models.enums import ApiScope

_CURRENCY = re.compile(r"[A-Z]{3}")
MAX_NAME_LENGTH = 200


class WorkspaceInputError(ValueError):
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
    if timezone not in zoneinfo.available_timezones():
        raise WorkspaceInputError(
            f"unknown time zone {timezone!r}: use an IANA name such as Europe/Berlin"
        )
    if not _CURRENCY.fullmatch(currency):
        raise WorkspaceInputError(f"currency {currency!r} is not an ISO 4217 code such as USD")

    workspace = Workspace(name=name, timezone=timezone, currency=currency)
    session.add(workspace)
    await session.flush()
    assert workspace.id is not None

    secret = new_postback_secret()
    key = new_api_key()
    session.add(PostbackSecret(workspace_id=workspace.id, secret=secret))
    session.add_all(builtin_conversion_types(workspace.id))
    session.add(
        ApiKey(
            workspace_id=workspace.id,
            name="admin",
            prefix=key.prefix,
            secret_hash=key.secret_hash,
            scopes=[ApiScope.ADMIN.value, ApiScope.READ.value],
        )
    )
    await session.flush()
    return NewWorkspace(workspace=workspace, postback_secret=secret, admin_api_key=key.plaintext)


async def rotate_postback_secret(
    session: AsyncSession, *, workspace_id: int, grace: timedelta
) -> str:
    """Issue a new postback secret; the current ones keep working for ``grace``, then expire."""
    if grace < timedelta(0):
        raise WorkspaceInputError("the grace period cannot be negative")
    if await get_workspace(session, workspace_id) is None:
        raise WorkspaceInputError(f"workspace {workspace_id} does not exist")
    await expire_postback_secrets(session, workspace_id, at=datetime.now(UTC) + grace)
    secret = new_postback_secret()
    session.add(PostbackSecret(workspace_id=workspace_id, secret=secret))
    await session.flush()
    return secret
