"""The API while its database is unavailable: 503 with a GraphQL error, the outage logged once."""

import logging
import time
from collections.abc import Iterator
from unittest.mock import ANY

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.outage import DatabaseOutage
from api.workspaces.service import NewWorkspace
from models.settings import Settings
from tests.api.database_proxy import database_proxy
from tests.api.graphql import auth, client_with

OUTAGE_LOGGER = "api.outage"
UNAVAILABLE = {
    "errors": [
        {
            "message": "the database is unavailable: retry in a few seconds",
            "extensions": {"code": "DATABASE_UNAVAILABLE", "requestId": ANY},
        }
    ]
}


@pytest.fixture
def outage_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """What the API logs about the outage (Litestar's logging setup may replace caplog's
    handler on the root logger, so it is attached here too)."""
    logger = logging.getLogger(OUTAGE_LOGGER)
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def outage_records(log: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return list({id(r): r for r in log.records if r.name == OUTAGE_LOGGER}.values())


async def answered(client: AsyncTestClient[Litestar], workspace: NewWorkspace) -> bool:
    response = await client.post(
        "/graphql", json={"query": "{ workspace { id } }"}, headers=auth(workspace)
    )
    return response.status_code == 200


async def test_requests_during_an_outage_get_503_and_the_outage_is_logged_once(
    engine: AsyncEngine,
    settings: Settings,
    workspace: NewWorkspace,
    outage_log: pytest.LogCaptureFixture,
):
    assert settings.database_url is not None
    with database_proxy(settings.database_url) as proxy:
        async with client_with(settings, database_url=proxy.url) as client:
            assert await answered(client, workspace)
            proxy.cut()
            for _ in range(5):
                response = await client.post(
                    "/graphql", json={"query": "{ workspace { id } }"}, headers=auth(workspace)
                )
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] == "5"
                assert response.json() == UNAVAILABLE
            [record] = outage_records(outage_log)
            assert record.levelno == logging.ERROR
            assert record.exc_info is not None
            assert record.getMessage().startswith("the database is unavailable")

            proxy.start()
            # The pool's connections were cut: it may take a request or two to notice.
            deadline = time.monotonic() + 10
            while not await answered(client, workspace):
                assert time.monotonic() < deadline, "the API did not recover"
    *_, back = outage_records(outage_log)
    assert back.getMessage().startswith("the database answers again after")
    assert all(r.exc_info is None for r in outage_records(outage_log)[1:])


async def test_a_database_lost_during_a_request_is_a_503(
    engine: AsyncEngine,
    settings: Settings,
    workspace: NewWorkspace,
    outage_log: pytest.LogCaptureFixture,
):
    assert settings.database_url is not None
    pages = " ".join(f"p{i}: clicks {{ nodes {{ id }} }}" for i in range(4))
    with database_proxy(settings.database_url) as proxy:
        # The resolvers' concurrent reads: the compiled path would run the four pages one after
        # the other on the key lookup's connection; no warm pool, so the pages need new ones.
        async with client_with(
            settings, database_url=proxy.url, api_compiled_reads=False, pool_min_size=1
        ) as client:
            assert await answered(client, workspace)
            # The key lookup runs on a pooled connection; the pages need new ones.
            proxy.refuse_new()
            response = await client.post(
                "/graphql", json={"query": f"{{ {pages} }}"}, headers=auth(workspace)
            )
    assert response.status_code == 503, response.text
    errors = response.json()["errors"]
    assert {error["extensions"]["code"] for error in errors} == {"DATABASE_UNAVAILABLE"}
    assert {error["message"] for error in errors} == {UNAVAILABLE["errors"][0]["message"]}
    # Logged once, as the outage, not as an unexpected error per field.
    [record] = outage_records(outage_log)
    assert record.exc_info is not None


async def test_a_failure_before_graphql_that_is_no_outage_is_a_logged_500(
    engine: AsyncEngine,
    settings: Settings,
    workspace: NewWorkspace,
    caplog: pytest.LogCaptureFixture,
):
    # A real failure of the key lookup: its table is gone. Retrying would not help: no 503.
    logger = logging.getLogger("api.http")
    logger.addHandler(caplog.handler)
    try:
        async with client_with(settings) as client:
            async with engine.begin() as conn:
                await conn.execute(text("ALTER TABLE api_keys RENAME TO api_keys_away"))
            try:
                response = await client.post(
                    "/graphql", json={"query": "{ workspace { id } }"}, headers=auth(workspace)
                )
            finally:
                async with engine.begin() as conn:
                    await conn.execute(text("ALTER TABLE api_keys_away RENAME TO api_keys"))
    finally:
        logger.removeHandler(caplog.handler)
    assert response.status_code == 500
    # The body and the log line name the request by the id the response carries.
    rid = response.headers["x-request-id"]
    assert response.json() == {
        "errors": [
            {
                "message": "Unexpected error.",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": rid},
            }
        ]
    }
    [record] = {id(r): r for r in caplog.records if r.name == "api.http"}.values()
    assert getattr(record, "request_id", None) == rid
    assert record.exc_info is not None
    assert 'relation "api_keys" does not exist' in str(record.exc_info[1])


def test_an_outage_is_logged_once_then_briefly_at_a_bounded_rate(
    outage_log: pytest.LogCaptureFixture,
):
    now = 0.0
    outage = DatabaseOutage(every_s=30, clock=lambda: now)
    error = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
    for second in range(95):
        now = float(second)
        outage.failed(error)
    outage.answered()
    outage.answered()
    records = outage_records(outage_log)
    assert [r.getMessage() for r in records] == [
        "the database is unavailable: GraphQL requests are answered 503 until it answers again",
        *(
            f"the database is still unavailable after {at} s: 30 requests answered 503 in the "
            "last 30 s (ConnectionRefusedError: [Errno 111] Connect call failed "
            "('127.0.0.1', 5432))"
            for at in (30, 60, 90)
        ),
        "the database answers again after 94 s unavailable; 95 requests were answered 503",
    ]
    assert records[0].exc_info is not None
    assert all(r.exc_info is None for r in records[1:])
