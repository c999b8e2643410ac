"""Bearer API keys: every GraphQL request acts for exactly one workspace."""

from dataclasses import dataclass

from cachetools import LRUCache, TTLCache
from litestar.exceptions import NotAuthorizedException
from sqlalchemy.ext.asyncio import AsyncEngine

from api.workspaces.credentials import hash_api_key
from api.workspaces.repository import active_api_key, api_key_workspace, touch_api_key
from models.enums import ApiScope

# A key's last use is recorded to within this many seconds.
LAST_USED_RESOLUTION_S = 60

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="clicktrail"'}


@dataclass(frozen=True, slots=True)
class Principal:
    workspace_id: int
    api_key_id: int
    scopes: frozenset[ApiScope]


def bearer_token(authorization: str | None) -> str | None:
    """The key in an `Authorization: Bearer <key>` header, if there is one."""
    scheme, _, token = (authorization or "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


class KeyDirectory:
    """Which workspace each API key belongs to, remembered per process.

    The directory's rows never change once written, so an entry needs no expiry: a request
    then costs one statement (the key within its workspace, revocation included), not two.
    Unknown hashes are not kept, so a new key works at once and guessing fills nothing.
    """

    def __init__(self) -> None:
        self._workspaces: LRUCache[bytes, int] = LRUCache(maxsize=10_000)

    def cached(self, secret_hash: bytes) -> int | None:
        """The workspace of a key already read, without a statement."""
        return self._workspaces.get(secret_hash)

    async def workspace_of(self, engine: AsyncEngine, secret_hash: bytes) -> int | None:
        workspace_id = self._workspaces.get(secret_hash)
        if workspace_id is None:
            workspace_id = await api_key_workspace(engine, secret_hash)
            if workspace_id is not None:
                self._workspaces[secret_hash] = workspace_id
        return workspace_id


async def authenticate(
    engine: AsyncEngine, directory: KeyDirectory, authorization: str | None
) -> Principal:
    """The principal behind an `Authorization: Bearer <key>` header, or a 401."""
    token = bearer_token(authorization)
    if token is None:
        raise NotAuthorizedException(
            detail="send an API key as 'Authorization: Bearer <key>'", headers=_CHALLENGE
        )
    secret_hash = hash_api_key(token)
    workspace_id = await directory.workspace_of(engine, secret_hash)
    key = (
        None
        if workspace_id is None
        else await active_api_key(engine, workspace_id=workspace_id, secret_hash=secret_hash)
    )
    if workspace_id is None or key is None:
        raise NotAuthorizedException(detail="API key is unknown or revoked", headers=_CHALLENGE)
    return Principal(
        workspace_id=workspace_id,
        api_key_id=key.id,
        scopes=frozenset(ApiScope(scope) for scope in key.scopes),
    )


class KeyUsage:
    """Records when keys are used, at most once per key and resolution period in a process.

    A write per request would queue a key's concurrent requests on its row and double the
    statements of a read.
    """

    def __init__(self) -> None:
        self._recorded: TTLCache[int, None] = TTLCache(maxsize=10_000, ttl=LAST_USED_RESOLUTION_S)

    async def record(self, engine: AsyncEngine, principal: Principal) -> None:
        if principal.api_key_id in self._recorded:
            return
        self._recorded[principal.api_key_id] = None
        await touch_api_key(
            engine, workspace_id=principal.workspace_id, key_id=principal.api_key_id
        )
