"""Engine, pool and per-request sessions, shared by both services."""

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from functools import cache

import asyncpg
import msgspec
from litestar import Litestar
from litestar.datastructures import State
from sqlalchemy import URL, event, make_url
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine.interfaces import AdaptedConnection
from sqlalchemy.exc import InvalidatePoolError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from models.settings import Settings

logger = logging.getLogger(__name__)

MIN_SERVER_VERSION = 150000
CONNECT_TIMEOUT_S = 5.0


# What a query can raise when the database is down, overloaded or refuses a statement.
#
# asyncpg's InternalClientError among them: when the server ends a backend (an outage, a
# restart, pg_terminate_backend) it sends a FATAL error and then hangs up, and a statement
# sent in between (the error read, the hang-up not yet) fails with "cannot switch to state 15;
# another operation (2) is in progress", an InternalClientError (neither an InterfaceError nor
# a PostgresError), and SQLAlchemy passes it on unwrapped. Missing here, it escaped every
# `except DATABASE_ERRORS`: a periodic job (tests/models/test_periodic.py caught it, 1 run in
# 20 to 50) ended for good instead of logging the outage and trying again.
DATABASE_ERRORS = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    SQLAlchemyError,
)


class DatabaseUnavailableError(Exception):
    """The configured database cannot be used; the message is meant for the operator."""


def async_url(url: str) -> URL:
    """The URL with the asyncpg driver, whatever scheme the operator wrote."""
    return make_url(url).set(drivername="postgresql+asyncpg")


def display_url(url: str) -> str:
    """The URL as it may appear in logs and error messages: password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable database URL>"


def driver_dsn(url: str) -> str:
    """The URL as asyncpg.connect takes it (no SQLAlchemy driver name)."""
    return async_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def check_database(url: str) -> int:
    """Connect once and return the server version number, or raise DatabaseUnavailableError."""
    shown = display_url(url)
    try:
        parsed = async_url(url)
    except Exception as exc:
        raise DatabaseUnavailableError(f"database URL {shown} is not valid: {exc}") from exc
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        reason = str(exc) or type(exc).__name__
        raise DatabaseUnavailableError(f"cannot connect to database {shown}: {reason}") from exc
    try:
        version = int(await conn.fetchval("SELECT current_setting('server_version_num')"))
    finally:
        await conn.close()
    if version < MIN_SERVER_VERSION:
        raise DatabaseUnavailableError(
            f"database {shown} runs PostgreSQL {version // 10000}; clicktrail needs 15 or newer"
        )
    return version


def decode_json(text: str) -> object:
    """A json or jsonb value as Python: what json.loads gives, about three times faster.

    A 1,000-row report decodes two jsonb values per row.
    """
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        # Numbers past a float's range (jsonb keeps them as numeric) and the like: json.loads
        # has its own answers for those (inf, say).
        return json.loads(text)


# asyncpg keeps (per connection) prepared statements of at most 15 KiB by default; a group of
# events inserted as one multi-row VALUES list (ingestion.multirow: up to 512 rows of 15
# values) is ~55 kB, and was parsed and planned anew by every batch: a sixth of PostgreSQL's
# CPU per uploaded row (bench/uploads.py, 68 -> 56 us).
MAX_CACHEABLE_STATEMENT_BYTES = 128 * 1024


def create_engine(url: str, settings: Settings, *, application_name: str) -> AsyncEngine:
    """The app's engine: every new connection has its type codecs before its first use."""
    engine = create_async_engine(
        async_url(url),
        json_deserializer=decode_json,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_max_overflow,
        connect_args={
            "max_cacheable_statement_size": MAX_CACHEABLE_STATEMENT_BYTES,
            "server_settings": {
                "application_name": application_name,
                "statement_timeout": str(settings.statement_timeout_ms),
            },
        },
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed)
    event.listen(engine.sync_engine, "connect", _prepare_codecs)
    return engine


def _prepare_codecs(dbapi_connection: AdaptedConnection, record: ConnectionPoolEntry) -> None:
    """Load, on connecting, the codecs of every column type the tables use.

    asyncpg looks up a type it has no codec for (arrays of the types SQLAlchemy decodes as text,
    cidr[] say) with a recursive catalog query, the first time a statement of the connection
    meets it. A Citus coordinator took 0.5-0.6 s over it, JIT-compiling the query; here it runs
    once per connection, before the pool hands the connection out, with JIT off.
    """

    async def prepare(conn: asyncpg.Connection) -> None:
        async with conn.transaction():
            await conn.execute("SET LOCAL jit = off")
            await conn.prepare(_codec_probe())

    dbapi_connection.run_async(prepare)


@cache
def _codec_probe() -> str:
    """One statement whose result has a column of each type the tables use."""
    from sqlmodel import SQLModel

    import models  # noqa: F401 - every table on the metadata

    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    types = sorted(
        {
            column.type.compile(dialect=dialect)
            for table in SQLModel.metadata.sorted_tables
            for column in table.columns
        }
    )
    return "SELECT " + ", ".join(f"NULL::{name}" for name in types)


async def warm_pool(engine: AsyncEngine, size: int) -> None:
    """Open ``size`` pooled connections now (each set up by ``_prepare_codecs``) and keep them:
    the pool holds up to its pool_size idle connections, so they wait for the first requests.

    A database that does not answer yet is no reason not to start: the service answers 503
    until it does, and the pool connects then.
    """
    size = min(size, engine.pool.size())  # type: ignore[attr-defined]
    try:
        async with AsyncExitStack() as stack:
            for _ in range(size):
                await stack.enter_async_context(engine.connect())
    except DATABASE_ERRORS as error:
        logger.warning("could not open the pool's first connections: %s", error)


def _refuse_closed(dbapi_connection: object, record: ConnectionPoolEntry, proxy: object) -> None:
    """Replace a pooled connection the server has closed (a restart, an outage) before use.

    SQLAlchemy notices a dead connection only when a statement through it fails, and the hot
    paths talk to asyncpg directly (`driver_connection`), which it does not watch: after an
    outage they kept drawing dead connections until rollup compaction, every 2 s, happened to
    fail through SQLAlchemy and renew the pool. asyncpg marks a connection closed as soon as
    the server hangs up, so this test costs an attribute read per checkout, where pre-ping
    would cost a round trip. Raising makes the pool renew every connection older than this
    one and hand out a new one.
    """
    connection = record.driver_connection
    if connection is not None and connection.is_closed():
        raise InvalidatePoolError("the server closed this pooled connection")


def database_lifespan(
    application_name: str,
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """A Litestar lifespan hook that owns the app's engine from startup to shutdown."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        settings: Settings = app.state.settings
        engine = create_engine(app.state.database_url, settings, application_name=application_name)
        app.state.engine = engine
        app.state.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        try:
            await warm_pool(engine, settings.pool_min_size)
            yield
        finally:
            await engine.dispose()

    return lifespan


async def provide_session(state: State) -> AsyncIterator[AsyncSession]:
    """One session per request; the request boundary commits, so a 2xx means committed."""
    sessionmaker: async_sessionmaker[AsyncSession] = state.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection as asyncpg itself, for hot paths that skip SQLAlchemy."""
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
        yield driver


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.exec_driver_sql("SELECT 1")
