"""GraphQL over HTTP: methods, batching, CORS and what errors show."""

import logging
from collections.abc import Iterator
from unittest.mock import ANY

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.workspaces.service import NewWorkspace
from models.settings import Settings
from tests.api.graphql import auth, client_with

DASHBOARD = "https://dash.example.com"
STRAWBERRY_LOGGER = "strawberry.execution"


async def test_a_query_over_get_works(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    response = await api_client.get(
        "/graphql", params={"query": "{ workspace { name } }"}, headers=auth(workspace)
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"workspace": {"name": "Acme Media"}}


async def test_answers_are_utf8_json(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    mutation = """
    mutation { updateWorkspace(input: {name: "Acmé Média 東京"}) { __typename } }
    """
    response = await api_client.post("/graphql", json={"query": mutation}, headers=auth(workspace))
    assert response.status_code == 200, response.text
    response = await api_client.post(
        "/graphql", json={"query": "{ workspace { name } }"}, headers=auth(workspace)
    )
    assert response.headers["content-type"].startswith("application/json")
    # UTF-8 as it is, not \u escapes: a third of the bytes for many scripts.
    assert '{"data":{"workspace":{"name":"Acmé Média 東京"}}'.encode() in response.content


async def test_a_mutation_over_get_is_refused(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    mutation = "mutation { rotatePostbackSecret(graceHours: 1) { __typename } }"
    response = await api_client.get("/graphql", params={"query": mutation}, headers=auth(workspace))
    assert response.status_code == 400, response.text
    assert "mutations are not allowed when using get" in response.text.lower()


async def test_a_batch_is_refused(api_client: AsyncTestClient[Litestar], workspace: NewWorkspace):
    response = await api_client.post(
        "/graphql",
        json=[{"query": "{ workspace { id } }"}, {"query": "{ workspace { name } }"}],
        headers=auth(workspace),
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["message"] == "batching is not enabled: send one operation per request"
    assert error["extensions"] == {"requestId": ANY, "code": "BAD_REQUEST"}


def _deep(levels: int) -> bytes:
    """A request whose ClickFilter variable nests `not` this many levels deep."""
    query = "query ($f: ClickFilter) { clicks(filter: $f) { nodes { id } } }"
    nested = '{"not": ' * levels + "{}" + "}" * levels
    return f'{{"query": "{query}", "variables": {{"f": {nested}}}}}'.encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"null", "Expected `object | array`, got `null`"),
        (b'"x"', "Expected `object | array`, got `str`"),
        (b"1", "Expected `object | array`, got `int`"),
        (b"{", "the body is not a GraphQL request: Input data was truncated"),
        (b'{"query": "{ workspace { id } }\xff"}', "Invalid UTF-8"),
        (b'{"query": "{ workspace { id } }\\ud800"}', "the body is not a GraphQL request"),
        (b'{"query": 1}', "Expected `str | null`, got `int` - at `$.query`"),
        (b'{"query": "{ workspace { id } }", "variables": []}', "at `$.variables`"),
        (b'{"query": "{ workspace { id } }", "operationName": {}}', "at `$.operationName`"),
        (_deep(1_000), "the body is not a GraphQL request: it nests too deeply"),
        (_deep(5_000), "the body is not a GraphQL request: it nests too deeply"),
        (_deep(40), "variables nest deeper than 32 levels"),
    ],
)
async def test_a_body_that_is_no_graphql_request_gets_a_400_with_a_graphql_error(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace, body: bytes, message: str
):
    response = await api_client.post(
        "/graphql",
        content=body,
        headers={**auth(workspace), "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert message in error["message"]
    assert error["extensions"] == {"requestId": ANY, "code": "BAD_REQUEST"}


async def test_a_body_over_a_mebibyte_gets_a_413_with_a_graphql_error(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    filler = "x" * 1_048_576
    response = await api_client.post(
        "/graphql",
        json={"query": "{ workspace { id } }", "variables": {"filler": filler}},
        headers=auth(workspace),
    )
    assert response.status_code == 413, response.text
    [error] = response.json()["errors"]
    assert error["message"] == "the body is over 1048576 bytes: send smaller variables"
    assert error["extensions"] == {"requestId": ANY, "code": "BAD_REQUEST"}


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"tz": "Europe/\x00Berlin"}, "a variable holds a NUL character"),
        ({"tz": "x", "more": {"ok\x00": 1}}, "a variable's field name holds a NUL character"),
        ({"tz": "x", "filler": list(range(10_000))}, "variables hold more than 10000 values"),
    ],
)
async def test_hostile_variables_get_a_400_before_graphql_reads_them(
    api_client: AsyncTestClient[Litestar],
    workspace: NewWorkspace,
    variables: dict[str, object],
    message: str,
):
    response = await api_client.post(
        "/graphql",
        json={
            "query": "query ($tz: String) { report(timezone: $tz) { source } }",
            "variables": variables,
        },
        headers=auth(workspace),
    )
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["message"].startswith(message)
    assert error["extensions"] == {"requestId": ANY, "code": "BAD_REQUEST"}


async def test_variables_of_a_get_that_are_no_json_get_a_400(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    for variables in ("{", '{"tz": "\\ud800"}', "[" * 2_000):
        response = await api_client.get(
            "/graphql",
            params={
                "query": "query ($tz: String) { report(timezone: $tz) { source } }",
                "variables": variables,
            },
            headers=auth(workspace),
        )
        assert response.status_code == 400, variables
        [error] = response.json()["errors"]
        assert error["message"].startswith("the variables are not JSON"), variables
        assert error["extensions"] == {"requestId": ANY, "code": "BAD_REQUEST"}


async def test_two_operations_without_an_operation_name_are_refused(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    document = "query A { workspace { id } } query B { workspace { name } }"
    response = await api_client.post("/graphql", json={"query": document}, headers=auth(workspace))
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert (
        error["message"] == "the document holds 2 operations: name the one to run in operationName"
    )
    assert error["extensions"] == {"requestId": ANY, "code": "BAD_REQUEST"}
    named = await api_client.post(
        "/graphql", json={"query": document, "operationName": "B"}, headers=auth(workspace)
    )
    assert named.json()["data"] == {"workspace": {"name": "Acme Media"}}


async def test_every_error_carries_a_code(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    cases = [
        ("{ workspace { id }", None, "GRAPHQL_PARSE_FAILED"),
        ("{ workspace { nope } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ('{ clicks(filter: {countries: ["a\\u0000"]}) { nodes { id } } }', None, "INVALID_INPUT"),
        ("query ($n: Int) { clicks(first: $n) { nodes { id } } }", {"n": "many"}, "INVALID_INPUT"),
        ("query ($n: Int!) { clicks(first: $n) { nodes { id } } }", {}, "INVALID_INPUT"),
        ("{ clicks(first: 0) { nodes { id } } }", None, "INVALID_INPUT"),
        ('{ clicks(after: "zz") { nodes { id } } }', None, "INVALID_INPUT"),
        ('{ report(timezone: "Mars/Olympus") { source } }', None, "INVALID_INPUT"),
    ]
    for query, variables, code in cases:
        response = await api_client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=auth(workspace)
        )
        assert response.status_code == 200, query
        errors = response.json()["errors"]
        assert [error["extensions"]["code"] for error in errors] == [code], (query, errors)


async def test_validation_errors_are_shown(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    cases = {
        "{ workspace { nope } }": "Cannot query field 'nope' on type 'Workspace'. Did you mean",
        "{ workspace(id: 1) { id } }": "Unknown argument 'id' on field 'Query.workspace'.",
        "{ workspace { id }": "Syntax Error: Expected Name, found <EOF>.",
    }
    for query, message in cases.items():
        response = await api_client.post("/graphql", json={"query": query}, headers=auth(workspace))
        [error] = response.json()["errors"]
        assert error["message"].startswith(message), query


async def test_bad_variables_are_shown(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    response = await api_client.post(
        "/graphql",
        json={
            "query": "query ($show: Boolean!) { workspace { id @include(if: $show) } }",
            "variables": {"show": "yes"},
        },
        headers=auth(workspace),
    )
    [error] = response.json()["errors"]
    assert error["message"].startswith("Variable '$show' has invalid value: Boolean cannot")


@pytest.fixture
def strawberry_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """What strawberry logs about errors (Litestar's logging setup may replace caplog's
    handler on the root logger, so it is attached here too)."""
    logger = logging.getLogger(STRAWBERRY_LOGGER)
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


async def test_an_unexpected_error_is_masked_and_logged(
    engine: AsyncEngine,
    settings: Settings,
    workspace: NewWorkspace,
    strawberry_log: pytest.LogCaptureFixture,
):
    # A real failure: the currency rates table is gone when the resolver reads it (the key
    # lookup, which reads other tables, still works).
    async with client_with(settings) as client:
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE currency_rates RENAME TO currency_rates_away"))
        try:
            response = await client.post(
                "/graphql", json={"query": "{ currencyRates { rate } }"}, headers=auth(workspace)
            )
        finally:
            async with engine.begin() as conn:
                await conn.execute(text("ALTER TABLE currency_rates_away RENAME TO currency_rates"))
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["message"] == "Unexpected error."
    assert error["path"] == ["currencyRates"]
    assert error["extensions"] == {"requestId": ANY, "code": "INTERNAL_SERVER_ERROR"}
    assert "currency_rates" not in response.text
    [record] = [r for r in strawberry_log.records if r.name == STRAWBERRY_LOGGER]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert 'relation "currency_rates" does not exist' in str(record.exc_info[1])


async def test_client_mistakes_are_not_logged_as_server_errors(
    api_client: AsyncTestClient[Litestar],
    workspace: NewWorkspace,
    strawberry_log: pytest.LogCaptureFixture,
):
    await api_client.post(
        "/graphql", json={"query": "{ workspace { nope } }"}, headers=auth(workspace)
    )
    assert [r for r in strawberry_log.records if r.name == STRAWBERRY_LOGGER] == []


async def test_cors_preflight_allows_a_configured_origin_to_send_its_key(
    engine: AsyncEngine, settings: Settings
):
    async with client_with(settings, cors_origins=[DASHBOARD]) as client:
        response = await client.options(
            "/graphql",
            headers={
                "Origin": DASHBOARD,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == DASHBOARD
        allowed = response.headers["access-control-allow-headers"].lower()
        assert {"authorization", "content-type"} <= {h.strip() for h in allowed.split(",")}
        assert "POST" in response.headers["access-control-allow-methods"]

        other = await client.options(
            "/graphql",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in other.headers


async def test_cors_origins_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CLICKTRAIL_CORS_ORIGINS", f"{DASHBOARD}/, http://localhost:3000")
    assert Settings(_env_file=None).cors_origins == [DASHBOARD, "http://localhost:3000"]


async def test_no_cors_headers_by_default(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    response = await api_client.post(
        "/graphql",
        json={"query": "{ workspace { id } }"},
        headers={**auth(workspace), "Origin": DASHBOARD},
    )
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


GRAPHQL_RESPONSE = "application/graphql-response+json"


async def _post_accepting(
    client: AsyncTestClient[Litestar],
    workspace: NewWorkspace,
    accept: str,
    query: str,
    variables: dict[str, object] | None = None,
):
    return await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={**auth(workspace), "Accept": accept},
    )


async def test_graphql_response_json_is_answered_to_clients_that_accept_it(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    response = await _post_accepting(
        api_client,
        workspace,
        f"{GRAPHQL_RESPONSE}, application/json;q=0.9",
        "{ workspace { name } }",
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert response.json()["data"] == {"workspace": {"name": "Acme Media"}}


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ workspace { id }", None),
        ("{ workspace { nope } }", None),
        ("query ($n: Int) { clicks(first: $n) { nodes { id } } }", {"n": "many"}),
        ("query ($n: Int!) { workspace { id } }", {"n": 1}),
    ],
    ids=["parse", "validation", "variable coercion", "unused variable"],
)
async def test_a_request_error_is_a_400_without_data_for_graphql_response_json(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace, query: str, variables
):
    response = await _post_accepting(api_client, workspace, GRAPHQL_RESPONSE, query, variables)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"]
    as_json = await _post_accepting(api_client, workspace, "application/json", query, variables)
    assert as_json.status_code == 200
    assert as_json.headers["content-type"].startswith("application/json")
    for error in body["errors"]:  # each answer names its own request
        assert error["extensions"]["requestId"] == response.headers["x-request-id"]
        error["extensions"]["requestId"] = as_json.headers["x-request-id"]
    assert as_json.json() == {"data": None, **body}


async def test_a_field_error_is_a_200_with_data_for_graphql_response_json(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    response = await _post_accepting(
        api_client, workspace, GRAPHQL_RESPONSE, "{ clicks(first: 0) { nodes { id } } }"
    )
    assert response.status_code == 200
    body = response.json()
    assert "data" in body
    assert body["errors"][0]["path"] == ["clicks"]


async def test_a_refused_body_keeps_its_status_in_graphql_response_json(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    response = await api_client.post(
        "/graphql",
        content=b"null",
        headers={**auth(workspace), "Accept": GRAPHQL_RESPONSE, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    "accept",
    [
        "*/*",
        "application/json",
        f"application/json, {GRAPHQL_RESPONSE};q=0.5",
        f"{GRAPHQL_RESPONSE};q=0",
        f"{GRAPHQL_RESPONSE};q=nan",
        f"{GRAPHQL_RESPONSE};q=1e309",
        f"{GRAPHQL_RESPONSE};q=-1",
        "text/plain",
        ";;;,,,=q=",
        "\x7f" * 100,
        "a/b;" * 5_000 + GRAPHQL_RESPONSE,
    ],
)
async def test_other_and_garbled_accept_headers_get_application_json(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace, accept: str
):
    response = await _post_accepting(api_client, workspace, accept, "{ workspace { id }")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["data"] is None
