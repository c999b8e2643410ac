"""Request ids and access logs, through both real apps."""

import json
import logging
from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app as create_api_app
from api.workspaces.service import NewWorkspace
from models.logs import JsonFormatter
from models.settings import Settings
from tests.api.graphql import auth
from tests.ingestion.conftest import Client

HOSTILE_IDS = [
    "has space",
    "x" * 129,
    'quote"',
    '{"json": 1}',
    "line\\nbreak",
    "",
    "caf\u00e9".encode(),
]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def access_log() -> Iterator[list[logging.LogRecord]]:
    yield from capture_access_log()


def capture_access_log() -> Iterator[list[logging.LogRecord]]:
    handler = _Records()
    logger = logging.getLogger("clicktrail.access")
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


async def test_a_sane_request_id_is_echoed_and_named_in_the_error_body(ingestion_client: Client):
    for sane in ("abc-123", "0f8fad5b-d9cb-469f-a165-70867728950e", "trace:1/2+3=4_5.6"):
        response = await ingestion_client.get("/no/such/path", headers={"X-Request-ID": sane})
        assert response.status_code == 404
        assert response.headers["x-request-id"] == sane
        assert response.json()["request_id"] == sane


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
async def test_a_hostile_request_id_is_replaced_by_a_new_one(ingestion_client: Client, hostile):
    response = await ingestion_client.get("/no/such/path", headers={"X-Request-ID": hostile})
    echoed = response.headers["x-request-id"]
    assert echoed != hostile
    assert len(echoed) == 16
    int(echoed, 16)
    assert response.json()["request_id"] == echoed


async def test_each_request_without_an_id_gets_its_own(ingestion_client: Client):
    ids = {(await ingestion_client.get("/health")).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


async def test_graphql_errors_and_refusals_carry_the_request_id(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    headers = {**auth(workspace), "X-Request-ID": "gql-1"}
    response = await api_client.post(
        "/graphql", json={"query": "{ clicks(first: 0) { nodes { id } } }"}, headers=headers
    )
    assert response.headers["x-request-id"] == "gql-1"
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "INVALID_INPUT", "requestId": "gql-1"}

    parse = await api_client.post("/graphql", json={"query": "{"}, headers=headers)
    assert parse.json()["errors"][0]["extensions"]["requestId"] == "gql-1"

    no_key = await api_client.post(
        "/graphql", json={"query": "{ workspace { id } }"}, headers={"X-Request-ID": "gql-2"}
    )
    assert no_key.status_code == 401
    assert no_key.json()["request_id"] == "gql-2"
    assert no_key.headers["www-authenticate"]

    missing = await api_client.get("/nowhere", headers={"X-Request-ID": "gql-3"})
    assert missing.status_code == 404
    assert missing.json() == {"status_code": 404, "detail": "Not Found", "request_id": "gql-3"}


async def test_the_api_logs_each_request_by_route_and_status(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace, access_log
):
    response = await api_client.post(
        "/graphql?secret=nothing",
        json={"query": "{ workspace { id } }"},
        headers={**auth(workspace), "X-Request-ID": "log-1"},
    )
    assert response.status_code == 200
    [record] = access_log
    assert record.request_id == "log-1"
    assert record.http == {
        "client": "testclient",
        "method": "POST",
        "path": "/graphql",  # never the query string
        "route": "/graphql",
        "status": 200,
        "duration_ms": record.http["duration_ms"],
    }
    assert record.getMessage().startswith('testclient "POST /graphql" 200 ')


async def test_the_api_access_log_can_be_turned_off(engine, settings: Settings, access_log):
    quiet = settings.model_copy(update={"api_access_log": False})
    async with AsyncTestClient(app=create_api_app(quiet)) as client:
        await client.get("/health")
    assert access_log == []


def test_json_lines_escape_what_the_request_sent():
    record = logging.LogRecord(
        "clicktrail.access", logging.INFO, __file__, 1, 'x "GET %s" 404', ("/a\nb",), None
    )
    record.request_id = "r-1"
    record.http = {"path": "/a\nb", "status": 404}
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == 'x "GET /a\nb" 404'
    assert parsed["request_id"] == "r-1"
    assert parsed["http"] == {"path": "/a\nb", "status": 404}
    assert parsed["level"] == "INFO"
    assert parsed["logger"] == "clicktrail.access"
