"""What both services count as a database outage (503, retry) and what as a refusal (never 503).

The errors come from the suite's real server (PostgreSQL 15, or the embedded 18), on databases
of the tests' own: closing one to connections must not cut the tests that share the other.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from api.app import create_app as create_api_app
from api.workspaces.service import NewWorkspace, create_workspace
from ingestion.app import create_app as create_ingestion_app
from models.database import create_engine, driver_dsn
from models.migrate import upgrade
from models.settings import Settings
from models.unavailable import connection_lost
from tests.api.graphql import auth
from tests.api.test_outage import UNAVAILABLE
from tests.conftest import (
    TEST_APPLICATION_NAME,
    closed_to_connections,
    create_database,
    drop_database,
)
from tests.ingestion.conftest import click, create_summer_campaign, eventually, postback

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def own_database(server_url: str) -> AsyncIterator[str]:
    """An empty database of the test's own, dropped after the test."""
    url = await create_database(server_url)
    try:
        yield url
    finally:
        await drop_database(server_url, url)


async def refused_connecting(url: str) -> asyncpg.PostgresError:
    with pytest.raises(asyncpg.PostgresError) as refused:
        await asyncpg.connect(driver_dsn(url))
    return refused.value


async def test_a_database_closed_to_connections_is_an_outage(server_url: str, own_database: str):
    async with closed_to_connections(server_url, own_database):
        closed = await refused_connecting(own_database)
    assert closed.sqlstate == "55000"
    assert connection_lost(closed)


async def test_an_invalid_database_is_no_outage(server_url: str, own_database: str):
    # What a DROP DATABASE cut short leaves: the same SQLSTATE, and it never passes.
    name = make_url(own_database).database
    admin = await asyncpg.connect(driver_dsn(server_url))
    try:
        await admin.execute("UPDATE pg_database SET datconnlimit = -2 WHERE datname = $1", name)
        try:
            invalid = await refused_connecting(own_database)
        finally:
            await admin.execute("UPDATE pg_database SET datconnlimit = -1 WHERE datname = $1", name)
    finally:
        await admin.close()
    assert invalid.sqlstate == "55000"
    assert "invalid database" in str(invalid)
    assert not connection_lost(invalid)


async def test_a_statements_55000_is_no_outage(database_url: str):
    conn = await asyncpg.connect(driver_dsn(database_url))
    try:
        await conn.execute("CREATE TEMPORARY SEQUENCE never_drawn")
        with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError) as refused:
            await conn.fetchval("SELECT currval('never_drawn')")
    finally:
        await conn.close()
    assert not connection_lost(refused.value)


async def test_a_database_that_does_not_exist_is_no_outage(server_url: str):
    dropped = await refused_connecting(
        make_url(server_url).set(database="clicktrail_never_created").render_as_string(False)
    )
    assert isinstance(dropped, asyncpg.InvalidCatalogNameError)
    assert not connection_lost(dropped)


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (asyncpg.ConnectionDoesNotExistError("connection was closed mid-operation"), True),
        (asyncpg.TooManyConnectionsError("sorry, too many clients already"), True),
        (asyncpg.DiskFullError("could not extend file"), True),
        (asyncpg.AdminShutdownError("terminating connection"), True),
        (asyncpg.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.IdleSessionTimeoutError("terminating connection"), True),
        (asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"), True),
        (asyncpg.ProtocolViolationError("bind message supplies 3 parameters"), False),
        (asyncpg.ConfigurationLimitExceededError("temporary file size exceeds"), False),
        (asyncpg.QueryCanceledError("canceling statement due to statement timeout"), False),
        (asyncpg.DatabaseDroppedError("terminating connection"), False),
        (asyncpg.InvalidAuthorizationSpecificationError("no pg_hba.conf entry"), False),
        (asyncpg.InterfaceError("the number of query arguments cannot exceed 32767"), False),
    ],
    ids=lambda value: getattr(value, "sqlstate", str(value)),
)
def test_each_sqlstate_is_classified_deliberately(error: Exception, outage: bool):
    assert connection_lost(error) is outage


async def test_a_statement_the_database_refuses_is_no_outage(engine: AsyncEngine):
    async with engine.connect() as conn:
        with pytest.raises(DBAPIError) as refused:
            await conn.execute(text("SELECT * FROM no_such_table"))
    assert not connection_lost(refused.value)


async def test_a_refused_connection_is_an_outage():
    with pytest.raises(ConnectionRefusedError) as refused:
        await asyncpg.connect("postgresql://postgres@127.0.0.1:1/postgres", timeout=5)
    assert connection_lost(refused.value)


async def test_a_unix_socket_that_is_gone_is_an_outage(tmp_path: Path):
    # The embedded server's socket, once the server has stopped.
    with pytest.raises(FileNotFoundError) as gone:
        await asyncpg.connect(f"postgresql://postgres@/postgres?host={tmp_path}", timeout=5)
    assert connection_lost(gone.value)


def test_other_os_errors_are_no_outage(tmp_path: Path):
    # A time zone name too long for a file name, say, or a file that is missing.
    with pytest.raises(OSError, match="File name too long") as too_long:
        Path("/" + "x" * 300).read_bytes()
    with pytest.raises(FileNotFoundError) as missing:
        (tmp_path / "missing").read_bytes()
    assert not connection_lost(too_long.value)
    assert not connection_lost(missing.value)


@pytest.fixture
async def tracked(own_database: str) -> NewWorkspace:
    """The own database migrated, with a workspace and its campaign `summer`."""
    engine = create_engine(
        own_database, Settings(database_url=own_database), application_name=TEST_APPLICATION_NAME
    )
    try:
        await upgrade(engine)
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            workspace = await create_workspace(session, name="Acme", timezone="UTC")
            assert workspace.workspace.id is not None
            await create_summer_campaign(session, workspace.workspace.id)
            await session.commit()
    finally:
        await engine.dispose()
    return workspace


async def test_both_services_answer_503_while_the_database_is_closed_to_connections(
    server_url: str, own_database: str, tracked: NewWorkspace
):
    settings = Settings(database_url=own_database, _env_file=None)
    secret = tracked.postback_secret

    async def graphql(api: Client) -> int:
        response = await api.post(
            "/graphql", json={"query": "{ workspace { id } }"}, headers=auth(tracked)
        )
        status: int = response.status_code
        return status

    async with (
        AsyncTestClient(app=create_api_app(settings)) as api,
        AsyncTestClient(app=create_ingestion_app(settings)) as ingestion,
    ):
        # Pools open, the key and the campaign cached: only new connections can fail.
        click_id = await click(ingestion)
        assert await graphql(api) == 200
        async with closed_to_connections(server_url, own_database):
            response = await api.post(
                "/graphql", json={"query": "{ workspace { id } }"}, headers=auth(tracked)
            )
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            assert response.json() == UNAVAILABLE
            redirect = await ingestion.get("/c/summer", follow_redirects=False)
            assert redirect.status_code == 503, redirect.text
            assert redirect.headers["retry-after"] == "5"
            refused = await ingestion.get(
                f"/postback/{secret}", params={"clickid": click_id, "sum": "2"}
            )
            assert (refused.status_code, refused.json()["error"]) == (503, "unavailable")
            assert refused.headers["retry-after"] == "5"

        async def answered() -> bool:
            return await graphql(api) == 200

        await eventually(answered)
        assert (await ingestion.get("/c/summer", follow_redirects=False)).status_code == 302
        status, body = await postback(ingestion, secret, clickid=click_id, sum="2")
        assert (status, body["result"]) == (200, "accepted")
