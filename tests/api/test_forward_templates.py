"""Managing forward templates through GraphQL: saved, shown with the source, hostile input."""

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from api.workspaces.service import NewWorkspace
from tests.api.graphql import data, execute
from tests.api.test_catalog_mutations import create_source
from tests.forwarder.conftest import SET_TEMPLATE, conversion_type_id, set_template

Client = AsyncTestClient[Litestar]

SOURCES = """{ trafficSources { name forwardTemplates {
  conversionTypeId url method statuses payoutOverride payoutShare enabled } } }"""


@pytest.fixture
async def ids(api_client: Client, workspace: NewWorkspace, session: AsyncSession) -> dict[str, str]:
    source = await create_source(api_client, workspace.admin_api_key)
    assert workspace.workspace.id is not None
    conversion = await conversion_type_id(session, workspace.workspace.id, "conversion")
    return {"trafficSourceId": source["id"], "conversionTypeId": str(conversion)}


async def test_a_template_is_saved_replaced_and_shown_with_its_source(
    api_client: Client, workspace: NewWorkspace, ids: dict[str, str]
):
    key = workspace.admin_api_key
    first = await set_template(api_client, key, **ids, url="https://src.example/pb?c={clickid}")
    assert first["__typename"] == "ForwardTemplate"
    second = await set_template(
        api_client,
        key,
        **ids,
        url="https://src.example/v2?c={external_id}&p={payout}",
        method="POST",
        statuses=["DECLINED", "APPROVED", "APPROVED"],
        payoutShare="40",
    )
    # One template per source and type: the second replaced the first.
    assert second["id"] == first["id"]
    assert await data(api_client, key, SOURCES) == {
        "trafficSources": [
            {
                "name": "PushNet",
                "forwardTemplates": [
                    {
                        "conversionTypeId": ids["conversionTypeId"],
                        "url": "https://src.example/v2?c={external_id}&p={payout}",
                        "method": "POST",
                        "statuses": ["APPROVED", "DECLINED"],
                        "payoutOverride": None,
                        "payoutShare": "40.0000",
                        "enabled": True,
                    }
                ],
            }
        ]
    }


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"url": "https://src.example/\x7f"}, "url", "printable ASCII"),
        ({"url": "https://src.example/é"}, "url", "printable ASCII"),
        ({"url": "https://src.example/a b"}, "url", "printable ASCII"),
        ({"url": "https://src.example/" + "a" * 3000}, "url", "longer than 2048"),
        ({"url": "https://src.example/?x={nope}"}, "url", "unknown macro {nope}"),
        ({"url": "https://src.example/?x={clickid"}, "url", "brace"),
        ({"url": "https://src.example/?x=}"}, "url", "brace"),
        ({"url": "https://{sub1}.example/"}, "url", "not in the host"),
        ({"url": "https://src.example:{sub1}/"}, "url", "not in the host"),
        ({"url": "ftp://src.example/"}, "url", "http:// or https://"),
        ({"url": "file:///etc/passwd"}, "url", "http:// or https://"),
        ({"url": "javascript:alert(1)"}, "url", "http:// or https://"),
        ({"url": "https:///path"}, "url", "no host"),
        ({"url": "https://src.example:99999/"}, "url", "does not parse"),
        ({"url": "https://user:pw@src.example/"}, "url", "credentials"),
        ({"url": "https://s.example/", "statuses": []}, "statuses", "at least one"),
        ({"url": "https://s.example/", "payoutShare": "101"}, "payoutShare", "0 to 100"),
        ({"url": "https://s.example/", "payoutShare": "-1"}, "payoutShare", "0 to 100"),
        ({"url": "https://s.example/", "payoutOverride": "1e13"}, "payoutOverride", "below"),
        (
            {"url": "https://s.example/", "payoutOverride": "1", "payoutShare": "5"},
            "payoutShare",
            "not both",
        ),
    ],
)
async def test_a_bad_template_is_refused_with_the_field_at_fault(
    api_client: Client, workspace: NewWorkspace, ids: dict[str, str], fields, field, message
):
    answer = await set_template(api_client, workspace.admin_api_key, **ids, **fields)
    assert answer["__typename"] == "InputError", answer
    assert answer["field"] == field
    assert message in answer["message"]
    assert await data(api_client, workspace.admin_api_key, SOURCES) == {
        "trafficSources": [{"name": "PushNet", "forwardTemplates": []}]
    }


@pytest.mark.parametrize("bad_id", ["0", "-1", "abc", "99999999999999999999", "1\u0661"])
async def test_ids_that_cannot_exist_are_not_found(
    api_client: Client, workspace: NewWorkspace, ids: dict[str, str], bad_id: str
):
    for name in ids:
        answer = await set_template(
            api_client, workspace.admin_api_key, **{**ids, name: bad_id}, url="https://s.example/"
        )
        assert answer["__typename"] == "NotFound", answer
    deleted = await data(
        api_client,
        workspace.admin_api_key,
        "mutation($id: ID!) { deleteForwardTemplate(id: $id) { __typename } }",
        {"id": bad_id},
    )
    assert deleted == {"deleteForwardTemplate": {"__typename": "NotFound"}}


async def test_a_read_key_cannot_set_templates(
    api_client: Client, workspace: NewWorkspace, ids: dict[str, str]
):
    created = await data(
        api_client,
        workspace.admin_api_key,
        'mutation { createApiKey(input: {name: "r", scopes: [READ]}) '
        "{ ... on ApiKeyCreated { secret } } }",
    )
    body = await execute(
        api_client,
        created["createApiKey"]["secret"],
        SET_TEMPLATE,
        {"input": {**ids, "url": "https://s.example/"}},
    )
    assert body["data"] is None
    assert "admin" in body["errors"][0]["message"].lower()


async def test_a_template_without_forwards_can_be_deleted(
    api_client: Client, workspace: NewWorkspace, ids: dict[str, str]
):
    key = workspace.admin_api_key
    saved = await set_template(api_client, key, **ids, url="https://s.example/")
    deleted = await data(
        api_client,
        key,
        "mutation($id: ID!) { deleteForwardTemplate(id: $id) { __typename } }",
        {"id": saved["id"]},
    )
    assert deleted == {"deleteForwardTemplate": {"__typename": "Deleted"}}
    assert (await data(api_client, key, SOURCES))["trafficSources"][0]["forwardTemplates"] == []


async def test_a_nul_anywhere_in_the_input_is_a_bad_request(
    api_client: Client, workspace: NewWorkspace, ids: dict[str, str]
):
    response = await api_client.post(
        "/graphql",
        json={
            "query": SET_TEMPLATE,
            "variables": {"input": {**ids, "url": "https://s.example/\x00"}},
        },
        headers={"Authorization": f"Bearer {workspace.admin_api_key}"},
    )
    assert response.status_code == 400
    assert "NUL" in response.json()["errors"][0]["message"]
