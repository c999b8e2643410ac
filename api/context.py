"""The per-request GraphQL context."""

from typing import TYPE_CHECKING

import msgspec
from litestar.datastructures import Headers, State
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.types import Scope
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from strawberry.litestar import BaseContext

from api.auth import KeyUsage, Principal, authenticate
from api.compiled.attempt import COMPILED_ATTEMPT, Attempt
from api.loaders import Loaders, create_loaders
from api.outage import DatabaseOutage, DatabaseUnavailableError
from models.database import DATABASE_ERRORS
from models.enums import ApiScope
from models.settings import Settings
from models.unavailable import connection_lost

if TYPE_CHECKING:
    from api.live.feed import LiveFeed

# A websocket's principal until its connection_init names a key: no scope, so every field
# refuses it (and graphql-transport-ws runs no operation before connection_init anyway).
ANONYMOUS = Principal(workspace_id=0, api_key_id=0, scopes=frozenset[ApiScope]())


class Context(BaseContext, kw_only=True):
    # The request's session: mutations write through it; it commits when the request ends.
    session: AsyncSession
    # Read loaders and report queries run concurrently, so each takes its own pooled
    # connection from the engine instead of sharing the session.
    engine: AsyncEngine
    principal: Principal
    loaders: Loaders
    settings: Settings
    live_feed: "LiveFeed"
    # What a websocket's connection_init carried (api.http authenticates it).
    connection_params: dict[str, object] | None = None
    # The refusals a report met on the compiled path (api.compiled.report), by response key:
    # the executor answers with them instead of running the report again (a report cut off by
    # its timeout would otherwise take twice as long).
    report_errors: dict[str, Exception] = msgspec.field(default_factory=dict)
    # Whether the compiled path ran this request's reports already (in front of the
    # controller: api.compiled.door), so that it does not run them again.
    compiled_tried: bool = False


async def provide_context(
    scope: Scope, headers: Headers, state: State, session: NamedDependency[AsyncSession]
) -> Context:
    """A Litestar dependency: anonymous requests stop here with a 401, introspection included.

    The key lookup is every request's first statement: a database that cannot be reached
    shows here, and so does its return. A websocket is authenticated by its connection_init
    message instead (browsers cannot set headers on one).
    """
    if scope["type"] == ScopeType.WEBSOCKET:
        return Context(
            session=session,
            engine=state.engine,
            principal=ANONYMOUS,
            loaders=create_loaders(state.engine, ANONYMOUS.workspace_id),
            settings=state.settings,
            live_feed=state.live_feed,
        )
    outage: DatabaseOutage = state.database_outage
    try:
        principal = await authenticate(
            state.engine, state.key_directory, headers.get("authorization")
        )
        key_usage: KeyUsage = state.key_usage
        await key_usage.record(state.engine, principal)
    except DATABASE_ERRORS as error:
        if connection_lost(error):
            raise DatabaseUnavailableError from error
        raise
    outage.answered()
    attempt: Attempt | None = scope.get("state", {}).get(COMPILED_ATTEMPT)
    return Context(
        session=session,
        engine=state.engine,
        principal=principal,
        loaders=create_loaders(state.engine, principal.workspace_id),
        settings=state.settings,
        live_feed=state.live_feed,
        report_errors={} if attempt is None else attempt.refusals,
        compiled_tried=attempt is not None,
    )
