"""uploadConversions by real multipart requests through the API app, applied by ingestion's
worker, and the job read back with uploadJob, uploadJobs and uploadResults."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.multipart import MAX_BODY_BYTES, MAX_MULTIPART_BYTES
from api.workspaces.service import NewWorkspace
from ingestion.uploads.service import UploadWorker
from tests.api.graphql import data, execute
from tests.ingestion.conftest import TrackedCampaign, count, insert_click

Client = AsyncTestClient[Litestar]
NOW = datetime.now(UTC).replace(microsecond=0)
UPLOAD = """
mutation Upload($file: Upload!) {
  uploadConversions(file: $file) {
    __typename
    ... on ConversionUpload { alreadyUploaded job { id filename format state totalRows } }
    ... on InputError { message field }
  }
}"""
JOB = """
query Job($id: ID!) {
  uploadJob(id: $id) {
    id state totalRows processedRows accepted updated duplicate rejected finishedAt
  }
}"""
RESULTS = """
query Results($job: ID!, $outcomes: [HitOutcome!], $first: Int, $after: String) {
  uploadResults(jobId: $job, outcomes: $outcomes, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { line outcome reason detail conversionEventId }
  }
}"""


def _operations(query: str = UPLOAD) -> str:
    return json.dumps({"query": query, "variables": {"file": None}})


async def post_multipart(
    client: Client,
    api_key: str,
    *,
    data_: dict[str, str],
    files: list[tuple[str, tuple[str | None, bytes, str]]],
) -> httpx.Response:
    return await client.post(
        "/graphql", headers={"Authorization": f"Bearer {api_key}"}, data=data_, files=files
    )


async def upload(
    client: Client, api_key: str, content: bytes, filename: str = "conversions.csv"
) -> dict[str, Any]:
    """The uploadConversions answer to a well-formed multipart request carrying ``content``."""
    response = await post_multipart(
        client,
        api_key,
        data_={"operations": _operations(), "map": json.dumps({"0": ["variables.file"]})},
        files=[("0", (filename, content, "text/csv"))],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["uploadConversions"]
    return result


async def test_an_uploaded_file_is_applied_and_each_rows_result_is_paged_by_line(
    api_client: Client,
    workspace: NewWorkspace,
    campaign: TrackedCampaign,
    session: AsyncSession,
    engine: AsyncEngine,
):
    key = workspace.admin_api_key
    a = await insert_click(session, engine, campaign, NOW - timedelta(hours=2))
    b = await insert_click(session, engine, campaign, NOW - timedelta(hours=2))
    content = (
        "clickid,sum,txid,type\n"
        f"{a},10,,\n"  # 2 accepted
        f"{a},10,,\n"  # 3 duplicate
        f"{b},4,T1,transaction\n"  # 4 accepted
        "nosuchclick,1,,\n"  # 5 rejected
        f"{b},abc,T2,transaction\n"  # 6 rejected
    ).encode()
    answer = await upload(api_client, key, content, filename="network.csv")
    assert answer["__typename"] == "ConversionUpload"
    job = answer["job"]
    assert answer["alreadyUploaded"] is False
    assert (job["filename"], job["format"], job["state"], job["totalRows"]) == (
        "network.csv",
        "csv",
        "QUEUED",
        5,
    )
    # The ingestion service's worker applies it (as `clicktrail serve` runs one).
    await UploadWorker(engine).run_queued()
    done = (await data(api_client, key, JOB, {"id": job["id"]}))["uploadJob"]
    assert done["state"] == "FINISHED"
    assert done["finishedAt"] is not None
    assert (
        done["processedRows"],
        done["accepted"],
        done["updated"],
        done["duplicate"],
        done["rejected"],
    ) == (5, 2, 0, 1, 2)

    seen: list[tuple[int, str, str]] = []
    after = None
    while True:
        page = (
            await data(api_client, key, RESULTS, {"job": job["id"], "first": 2, "after": after})
        )["uploadResults"]
        assert page["totalCount"] == 5
        seen += [(n["line"], n["outcome"], n["reason"]) for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [
        (2, "ACCEPTED", "accepted"),
        (3, "DUPLICATE", "duplicate"),
        (4, "ACCEPTED", "accepted"),
        (5, "REJECTED", "unknown_click"),
        (6, "REJECTED", "bad_amount"),
    ]
    rejected = (await data(api_client, key, RESULTS, {"job": job["id"], "outcomes": ["REJECTED"]}))[
        "uploadResults"
    ]
    assert rejected["totalCount"] == 2
    assert [n["line"] for n in rejected["nodes"]] == [5, 6]
    assert all(n["detail"] and n["conversionEventId"] is None for n in rejected["nodes"])
    assert await count(session, "SELECT count(*) FROM conversion_events") == 2
    assert await count(session, "SELECT count(*) FROM postback_log WHERE kind = 'upload'") == 5


async def test_the_same_file_again_answers_the_same_job_and_stores_nothing(
    api_client: Client, workspace: NewWorkspace, session: AsyncSession
):
    key = workspace.admin_api_key
    content = b"clickid,sum\nabc,1\n"
    first = await upload(api_client, key, content)
    tables = ("upload_jobs", "upload_rows", "upload_queue")
    before = [await count(session, f"SELECT count(*) FROM {t}") for t in tables]
    again = await upload(api_client, key, content, filename="renamed.csv")
    assert again["alreadyUploaded"] is True
    assert again["job"] == first["job"]
    assert [await count(session, f"SELECT count(*) FROM {t}") for t in tables] == before
    listed = await data(api_client, key, "{ uploadJobs { totalCount nodes { id filename } } }")
    assert listed["uploadJobs"] == {
        "totalCount": 1,
        "nodes": [{"id": first["job"]["id"], "filename": "conversions.csv"}],
    }


async def test_upload_jobs_are_listed_newest_first_page_by_page(
    api_client: Client, workspace: NewWorkspace
):
    key = workspace.admin_api_key
    ids = [
        (await upload(api_client, key, f"clickid,sum\nc{i},1\n".encode()))["job"]["id"]
        for i in range(3)
    ]
    query = """query Jobs($after: String) {
      uploadJobs(first: 2, after: $after) { pageInfo { hasNextPage endCursor } nodes { id } }
    }"""
    first = (await data(api_client, key, query))["uploadJobs"]
    rest = (await data(api_client, key, query, {"after": first["pageInfo"]["endCursor"]}))[
        "uploadJobs"
    ]
    assert [n["id"] for n in first["nodes"] + rest["nodes"]] == ids[::-1]
    assert (first["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasNextPage"]) == (True, False)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file holds no rows (empty_file)"),
        (b"\n\r\n  \n", "the file holds no rows (empty_file)"),
        (b"clickid,sum\n", "the file holds a header but no rows (empty_file)"),
        (b"click\xffid,sum\nabc,1\n", "the header line is not valid UTF-8 (bad_encoding)"),
        (b"\xff\xfec\x00i\x00d\x00", "the file is UTF-16"),
        (b"click\x00id,sum\nabc,1\n", "without NUL (bad_header)"),
        (b"name,sum\nabc,1\n", "the header has no click id column"),
        (b"clickid," + b"x" * 20_000 + b"\nabc,1\n", "the header line is longer than"),
    ],
)
async def test_a_file_that_cannot_be_read_is_an_input_error_and_stores_nothing(
    api_client: Client,
    workspace: NewWorkspace,
    session: AsyncSession,
    content: bytes,
    message: str,
):
    answer = await upload(api_client, workspace.admin_api_key, content)
    assert answer["__typename"] == "InputError"
    assert answer["field"] == "file"
    assert message in answer["message"]
    assert await count(session, "SELECT count(*) FROM upload_jobs") == 0


async def test_bad_lines_are_rejected_rows_and_the_rest_applied(
    api_client: Client,
    workspace: NewWorkspace,
    campaign: TrackedCampaign,
    session: AsyncSession,
    engine: AsyncEngine,
):
    key = workspace.admin_api_key
    good = await insert_click(session, engine, campaign, NOW - timedelta(hours=2))
    deep = "[" * 1_000 + "]" * 1_000
    content = b"\n".join(
        [
            json.dumps({"clickid": good, "sum": 3}).encode(),  # 1 accepted
            b'{"clickid": "ab\xffcd", "sum": 1}',  # 2 invalid UTF-8
            b'{"clickid": "ab\\u0000cd", "sum": 1}',  # 3 NUL
            b'{"clickid": "' + b"x" * 20_000 + b'"}',  # 4 a line over 16 kB
            f'{{"clickid": "abc", "sum": {deep}}}'.encode(),  # 5 1,000 levels deep
            b"[1, 2]",  # 6 not an object
            b"{broken",  # 7
        ]
    )
    answer = await upload(api_client, key, content, filename="rows.jsonl")
    assert answer["job"]["format"] == "jsonl"
    await UploadWorker(engine).run_queued()
    page = (await data(api_client, key, RESULTS, {"job": answer["job"]["id"]}))["uploadResults"]
    assert [(n["line"], n["reason"]) for n in page["nodes"]] == [
        (1, "accepted"),
        (2, "bad_parameters"),
        (3, "bad_parameters"),
        (4, "line_too_long"),
        (5, "bad_row"),
        (6, "bad_row"),
        (7, "bad_row"),
    ]
    assert await count(session, "SELECT count(*) FROM conversion_events") == 1


def _map(value: object) -> str:
    return json.dumps(value)


@pytest.mark.parametrize(
    ("data_", "files", "message"),
    [
        # The file sent as a text field: no filename, so no file part.
        (
            {"operations": _operations(), "map": _map({"0": ["variables.file"]})},
            [("0", (None, b"clickid\na\n", "text/csv"))],
            "send exactly one file per request, not 0",
        ),
        (
            {"operations": _operations(), "map": _map({"0": ["variables.file"]})},
            [("0", ("a.csv", b"clickid\na\n", "text/csv")), ("1", ("b.csv", b"x", "text/csv"))],
            "send exactly one file per request, not 2",
        ),
        (
            {"operations": _operations(), "map": _map({"0": ["variables.file"]})},
            [("0", ("a.csv", b"clickid\na\n", "text/csv")), ("0", ("b.csv", b"x", "text/csv"))],
            "send exactly one file per request, not 2",
        ),
        (
            {"operations": _operations(), "map": "not json"},
            [("0", ("a.csv", b"clickid\na\n", "text/csv"))],
            "map must be a JSON object",
        ),
        (
            {"operations": _operations(), "map": _map({"0": "variables.file"})},
            [("0", ("a.csv", b"clickid\na\n", "text/csv"))],
            "map must be a JSON object",
        ),
        (
            {"operations": _operations(), "map": _map({"1": ["variables.file"]})},
            [("0", ("a.csv", b"clickid\na\n", "text/csv"))],
            'map must name the file part once, as {"0": ["variables.<name>"]}',
        ),
        (
            {"operations": _operations(), "map": _map({"0": ["variables.file", "variables.x"]})},
            [("0", ("a.csv", b"clickid\na\n", "text/csv"))],
            "map must name the file part once",
        ),
        (
            {"operations": _operations(), "map": _map({"0": ["query"]})},
            [("0", ("a.csv", b"clickid\na\n", "text/csv"))],
            "map must place the file in a variable, not at 'query'",
        ),
        (
            {"operations": _operations(), "map": _map({"0": ["variables.file.x.0"]})},
            [("0", ("a.csv", b"clickid\na\n", "text/csv"))],
            "map names 'variables.file.x.0', which the operations' variables do not have",
        ),
        (
            {"map": _map({"0": ["variables.file"]})},
            [("0", ("a.csv", b"clickid\na\n", "text/csv"))],
            "a multipart request needs one text field 'operations'",
        ),
        (
            {"operations": "{nope", "map": _map({"0": ["variables.file"]})},
            [("0", ("a.csv", b"clickid\na\n", "text/csv"))],
            "the body is not a GraphQL request",
        ),
        (
            {
                "operations": json.dumps([{"query": UPLOAD, "variables": {"file": None}}]),
                "map": _map({"0": ["0.variables.file"]}),
            },
            [("0", ("a.csv", b"clickid\na\n", "text/csv"))],
            "map must place the file in a variable",
        ),
    ],
)
async def test_a_malformed_multipart_request_is_a_400_saying_what_to_send(
    api_client: Client,
    workspace: NewWorkspace,
    session: AsyncSession,
    data_: dict[str, str],
    files: list[tuple[str, tuple[str | None, bytes, str]]],
    message: str,
):
    response = await post_multipart(api_client, workspace.admin_api_key, data_=data_, files=files)
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert message in error["message"]
    assert error["extensions"] == {"code": "BAD_REQUEST", "requestId": ANY}
    assert await count(session, "SELECT count(*) FROM upload_jobs") == 0


async def test_a_multipart_body_that_is_no_multipart_is_a_400(
    api_client: Client, workspace: NewWorkspace
):
    for content_type, body in (
        ("multipart/form-data", b"--x\r\n"),
        ("multipart/form-data; boundary=x", b"--x\r\nno headers end"),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
            b"\xff\xfe\r\n--x--\r\n",
        ),
    ):
        response = await api_client.post(
            "/graphql",
            content=body,
            headers={
                "Content-Type": content_type,
                "Authorization": f"Bearer {workspace.admin_api_key}",
            },
        )
        assert response.status_code == 400, (content_type, body, response.text)
        assert response.json()["errors"][0]["extensions"] == {
            "code": "BAD_REQUEST",
            "requestId": ANY,
        }


async def test_a_file_value_that_is_not_a_file_is_an_input_error(
    api_client: Client, workspace: NewWorkspace
):
    body = await execute(api_client, workspace.admin_api_key, UPLOAD, {"file": "clickid\nabc\n"})
    assert body["data"]["uploadConversions"] == {
        "__typename": "InputError",
        "message": "send the file as a file part of a multipart request (the GraphQL multipart "
        "request spec), not as a value",
        "field": "file",
    }


async def test_only_a_multipart_request_may_be_larger_than_a_mebibyte(
    api_client: Client, workspace: NewWorkspace, campaign: TrackedCampaign, session: AsyncSession
):
    key = workspace.admin_api_key
    # 1.5 MiB of rows is a file like any other...
    rows = b"".join(b"c%07d,1.25\n" % i for i in range(120_000))
    assert len(rows) > 1.5 * MAX_BODY_BYTES
    answer = await upload(api_client, key, b"clickid,sum\n" + rows)
    assert answer["job"]["totalRows"] == 120_000
    # ... while past the cap the request is refused before it is read, and so is a JSON body
    # over 1 MiB (tests/api/test_protocol.py).
    response = await post_multipart(
        api_client,
        key,
        data_={"operations": _operations(), "map": _map({"0": ["variables.file"]})},
        files=[("0", ("huge.csv", b"clickid,sum\n" + b"x" * MAX_MULTIPART_BYTES, "text/csv"))],
    )
    assert response.status_code == 413, response.text
    [error] = response.json()["errors"]
    assert error["message"] == (
        f"the request is over {MAX_MULTIPART_BYTES} bytes: files are taken up to 33554432 bytes "
        "(32 MiB); split the file"
    )
    assert await count(session, "SELECT count(*) FROM upload_jobs") == 1


async def test_a_read_key_cannot_upload(api_client: Client, workspace: NewWorkspace):
    created = await data(
        api_client,
        workspace.admin_api_key,
        'mutation { createApiKey(input: {name: "bi", scopes: [READ]}) '
        "{ ... on ApiKeyCreated { secret } } }",
    )
    secret = created["createApiKey"]["secret"]
    response = await post_multipart(
        api_client,
        secret,
        data_={"operations": _operations(), "map": _map({"0": ["variables.file"]})},
        files=[("0", ("a.csv", b"clickid\nabc\n", "text/csv"))],
    )
    body = response.json()
    assert body["data"] is None
    assert "admin scope" in body["errors"][0]["message"]
