"""SQL for workspaces and API keys."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, exists, func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from api.database import Reader, fetch_all
from models import ROLLUPS, ApiKey, ApiKeyHash, ConversionEvent, PostbackSecret, Workspace
from models.base import table_of
from models.database import driver_connection
from models.rollups import rebuild_rollups

_API_KEYS = table_of(ApiKey)


_WORKSPACES = table_of(Workspace)


async def workspace_to_change(session: AsyncSession, workspace_id: int) -> Workspace | None:
    """The workspace as an entity the request's session writes back when it changes."""
    return await session.get(Workspace, workspace_id)


async def read_workspace(reader: Reader, workspace_id: int) -> Row[Any] | None:
    rows = await fetch_all(reader, sa_select(_WORKSPACES).where(_WORKSPACES.c.id == workspace_id))
    return rows[0] if rows else None


async def recount_daily_rollups(session: AsyncSession, workspace_id: int) -> None:
    """Recount the workspace's daily rollups in the zone the session now gives it.

    The workspace's clicks and postbacks wait until the transaction ends; other workspaces'
    do not.
    """
    daily = [rollup for rollup in ROLLUPS if rollup.grain == "day"]
    await rebuild_rollups(await session.connection(), workspace_id=workspace_id, rollups=daily)


def _active_postback_secret(workspace_id: int) -> SelectOfScalar[str]:
    return (
        select(PostbackSecret.secret)
        .where(
            col(PostbackSecret.workspace_id) == workspace_id,
            col(PostbackSecret.expires_at).is_(None),
        )
        .order_by(col(PostbackSecret.created_at).desc())
        .limit(1)
    )


async def active_postback_secret(reader: Reader, workspace_id: int) -> str | None:
    """The newest secret that does not expire: the one templates show."""
    rows = await fetch_all(reader, _active_postback_secret(workspace_id))
    return rows[0].secret if rows else None


async def expire_postback_secrets(
    session: AsyncSession, workspace_id: int, *, at: datetime
) -> None:
    """Make every secret of the workspace that would outlive ``at`` expire then."""
    await session.execute(
        update(PostbackSecret)
        .where(
            col(PostbackSecret.workspace_id) == workspace_id,
            or_(col(PostbackSecret.expires_at).is_(None), col(PostbackSecret.expires_at) > at),
        )
        .values(expires_at=at)
    )


# Every request reads its key: plain asyncpg statements (prepared once per connection) outside
# any transaction, where the ORM through the request's session cost ~1 ms of CPU with its
# BEGIN and COMMIT.
_KEY_WORKSPACE = f"SELECT workspace_id FROM {table_of(ApiKeyHash).name} WHERE secret_hash = $1"  # noqa: S608
API_KEYS_TABLE = _API_KEYS.name


def active_key_condition(alias: str, *, workspace: str, secret_hash: str) -> str:
    """SQL over ``alias``, a row of api_keys: the active key of this hash in the workspace
    (``workspace`` and ``secret_hash`` are expressions, parameters say). The compiled reads
    check a key inside their page's statement by the same condition (api.compiled.sql)."""
    return (
        f"{alias}.workspace_id = {workspace} AND {alias}.secret_hash = {secret_hash} "
        f"AND {alias}.revoked_at IS NULL"
    )


_ACTIVE_KEY = (
    f"SELECT k.id, k.scopes FROM {API_KEYS_TABLE} k "  # noqa: S608
    f"WHERE {active_key_condition('k', workspace='$1', secret_hash='$2')}"  # noqa: S106
)


async def api_key_workspace(engine: AsyncEngine, secret_hash: bytes) -> int | None:
    """The workspace an API key belongs to, from the directory."""
    async with driver_connection(engine) as conn:
        workspace_id: int | None = await conn.fetchval(_KEY_WORKSPACE, secret_hash)
    return workspace_id


@dataclass(frozen=True, slots=True)
class ActiveKey:
    id: int
    scopes: list[str]


async def active_api_key(
    engine: AsyncEngine, *, workspace_id: int, secret_hash: bytes
) -> ActiveKey | None:
    async with driver_connection(engine) as conn:
        row = await conn.fetchrow(_ACTIVE_KEY, workspace_id, secret_hash)
    return None if row is None else ActiveKey(row["id"], row["scopes"])


async def touch_api_key(engine: AsyncEngine, *, workspace_id: int, key_id: int) -> None:
    """Stamp the key's last use, in a transaction of its own (no lock held across a request)."""
    async with engine.begin() as conn:
        await conn.execute(
            update(_API_KEYS)
            .where(_API_KEYS.c.workspace_id == workspace_id, _API_KEYS.c.id == key_id)
            .values(last_used_at=func.now())
        )


async def api_keys(engine: AsyncEngine, *, workspace_id: int) -> Sequence[Row[Any]]:
    """Every key of the workspace, revoked ones included, oldest first."""
    table = _API_KEYS
    return await fetch_all(
        engine,
        sa_select(table).where(table.c.workspace_id == workspace_id).order_by(table.c.id),
    )


async def api_key_row(engine: AsyncEngine, *, workspace_id: int, id: int) -> Row[Any] | None:
    """One key of the workspace, as listings show it."""
    table = _API_KEYS
    rows = await fetch_all(
        engine, sa_select(table).where(table.c.workspace_id == workspace_id, table.c.id == id)
    )
    return rows[0] if rows else None


async def api_key(session: AsyncSession, *, workspace_id: int, id: int) -> ApiKey | None:
    result = await session.execute(
        select(ApiKey).where(col(ApiKey.workspace_id) == workspace_id, col(ApiKey.id) == id)
    )
    return result.scalar_one_or_none()


async def has_conversions(session: AsyncSession, workspace_id: int) -> bool:
    events = table_of(ConversionEvent)
    result = await session.scalar(sa_select(exists().where(events.c.workspace_id == workspace_id)))
    return bool(result)
