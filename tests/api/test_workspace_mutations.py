from datetime import UTC, datetime, timedelta
from unittest.mock import ANY

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.workspaces.service import NewWorkspace, create_workspace
from tests.api.conftest import Traffic
from tests.api.graphql import data, execute
from tests.ingestion.conftest import insert_click, postback
from tests.models.test_rollups import assert_rollups_match_raw_tables

Client = AsyncTestClient[Litestar]

UPDATE = """
mutation($input: UpdateWorkspaceInput!) {
  updateWorkspace(input: $input) {
    __typename
    ... on Workspace {
      name timezone currency ipAllowlist signingEnabled statusAliases { word status }
    }
    ... on InputError { field message }
  }
}"""
CREATE_KEY = """
mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) {
    ... on ApiKeyCreated { secret apiKey { id name prefix scopes revokedAt } }
    ... on InputError { field message }
  }
}"""
REVOKE_KEY = """
mutation($id: ID!) {
  revokeApiKey(id: $id) {
    __typename ... on ApiKey { revokedAt } ... on Error { message } ... on InputError { field }
  }
}"""


async def test_workspace_settings_change_only_where_given(
    api_client: Client, workspace: NewWorkspace
):
    key = workspace.admin_api_key
    result = await data(
        api_client,
        key,
        UPDATE,
        {
            "input": {
                "ipAllowlist": ["203.0.113.0/24", "2001:db8::1"],
                "statusAliases": [
                    {"word": "Rejected", "status": "DECLINED"},
                    {"word": "1", "status": "APPROVED"},
                ],
                "signingSecret": "s" * 32,
            }
        },
    )
    assert result["updateWorkspace"] == {
        "__typename": "Workspace",
        "name": "Acme Media",
        "timezone": "Europe/Berlin",
        "currency": "USD",
        "ipAllowlist": ["203.0.113.0/24", "2001:db8::1/128"],
        "signingEnabled": True,
        "statusAliases": [
            {"word": "1", "status": "APPROVED"},
            {"word": "rejected", "status": "DECLINED"},
        ],
    }
    renamed = await data(
        api_client, key, UPDATE, {"input": {"name": "Acme", "signingSecret": None}}
    )
    assert renamed["updateWorkspace"]["name"] == "Acme"
    assert renamed["updateWorkspace"]["signingEnabled"] is False
    assert renamed["updateWorkspace"]["ipAllowlist"] == ["203.0.113.0/24", "2001:db8::1/128"]


async def test_bad_settings_are_refused_all_together(api_client: Client, workspace: NewWorkspace):
    key = workspace.admin_api_key
    result = await data(
        api_client, key, UPDATE, {"input": {"name": "Renamed", "ipAllowlist": ["10.0.0.5/24"]}}
    )
    assert result["updateWorkspace"] == {
        "__typename": "InputError",
        "field": "ipAllowlist",
        "message": "'10.0.0.5/24' has host bits set: did you mean 10.0.0.0/24?",
    }
    for field, value in (("timezone", "Mars/Olympus"), ("currency", "usd")):
        result = await data(api_client, key, UPDATE, {"input": {field: value}})
        assert result["updateWorkspace"]["field"] == field
    assert (await data(api_client, key, "{ workspace { name } }"))["workspace"]["name"] == (
        "Acme Media"
    )


async def test_a_new_time_zone_moves_the_daily_rollups_to_its_local_days(
    api_client: Client,
    ingestion_client: Client,
    session: AsyncSession,
    engine: AsyncEngine,
    traffic: Traffic,
    workspace: NewWorkspace,
):
    # 06:30 UTC is the morning in Berlin and the evening before in Los Angeles.
    morning = (datetime.now(UTC) - timedelta(days=3)).replace(
        hour=6, minute=30, second=0, microsecond=0
    )
    early = await insert_click(session, engine, traffic.campaign, morning)
    await insert_click(session, engine, traffic.campaign, morning + timedelta(hours=12))
    status, body = await postback(ingestion_client, traffic.campaign.secret, clickid=early, sum="3")
    assert status == 200, body
    await assert_rollups_match_raw_tables(session)

    result = await data(
        api_client,
        workspace.admin_api_key,
        UPDATE,
        {"input": {"timezone": "America/Los_Angeles"}},
    )
    assert result["updateWorkspace"]["timezone"] == "America/Los_Angeles"
    await assert_rollups_match_raw_tables(session)
    zones = await session.execute(
        text(
            "SELECT timezone FROM rollup_campaign_daily_clicks "
            "UNION SELECT timezone FROM rollup_full_daily_events"
        )
    )
    assert list(zones.scalars()) == ["America/Los_Angeles"]


async def test_rotating_the_postback_secret_keeps_the_old_one_for_the_grace_period(
    api_client: Client, workspace: NewWorkspace, session: AsyncSession
):
    result = await data(
        api_client,
        workspace.admin_api_key,
        """mutation {
          rotatePostbackSecret(graceHours: 48) {
            ... on PostbackSecretRotated {
              postbackSecret previousSecretsExpireAt
              workspace { postbackUrl templates { postbackConversion } }
            }
          }
        }""",
    )
    rotated = result["rotatePostbackSecret"]
    secret = rotated["postbackSecret"]
    assert secret != workspace.postback_secret
    assert rotated["workspace"]["postbackUrl"].endswith(f"/postback/{secret}")
    assert f"/postback/{secret}?" in rotated["workspace"]["templates"]["postbackConversion"]
    expires = datetime.fromisoformat(rotated["previousSecretsExpireAt"])
    assert abs(expires - (datetime.now(UTC) + timedelta(hours=48))) < timedelta(minutes=1)
    old = await session.execute(
        text("SELECT expires_at FROM postback_secrets WHERE secret = :s"),
        {"s": workspace.postback_secret},
    )
    assert abs(old.scalar_one() - expires) < timedelta(seconds=5)
    read = await data(api_client, workspace.admin_api_key, "{ workspace { postbackUrl } }")
    assert read["workspace"]["postbackUrl"].endswith(f"/postback/{secret}")


async def test_a_regenerated_signing_secret_is_shown_once(
    api_client: Client, workspace: NewWorkspace, session: AsyncSession
):
    result = await data(
        api_client,
        workspace.admin_api_key,
        "mutation { regenerateSigningSecret { signingSecret workspace { signingEnabled } } }",
    )
    issued = result["regenerateSigningSecret"]
    assert issued["workspace"]["signingEnabled"] is True
    stored = await session.execute(text("SELECT signing_secret FROM workspaces"))
    assert stored.scalar_one() == issued["signingSecret"]


async def test_a_new_api_key_is_shown_once_and_works(api_client: Client, workspace: NewWorkspace):
    result = await data(
        api_client,
        workspace.admin_api_key,
        CREATE_KEY,
        {"input": {"name": "grafana", "scopes": ["READ"]}},
    )
    created = result["createApiKey"]
    assert created["apiKey"]["scopes"] == ["READ"]
    assert created["secret"].startswith(created["apiKey"]["prefix"])
    listed = await data(
        api_client,
        created["secret"],
        "{ apiKeys { name prefix scopes createdAt lastUsedAt revokedAt } }",
    )
    assert [key["name"] for key in listed["apiKeys"]] == ["admin", "grafana"]
    assert created["secret"] not in str(listed)


async def test_a_key_cannot_revoke_itself_but_another_admin_key_can(
    api_client: Client, workspace: NewWorkspace
):
    second = (
        await data(
            api_client,
            workspace.admin_api_key,
            CREATE_KEY,
            {"input": {"name": "deploy", "scopes": ["ADMIN"]}},
        )
    )["createApiKey"]
    own_id = (await data(api_client, workspace.admin_api_key, "{ apiKeys { id name } }"))[
        "apiKeys"
    ][0]["id"]
    itself = await data(api_client, workspace.admin_api_key, REVOKE_KEY, {"id": own_id})
    assert itself["revokeApiKey"]["__typename"] == "InputError"
    assert "cannot revoke itself" in itself["revokeApiKey"]["message"]

    revoked = await data(api_client, second["secret"], REVOKE_KEY, {"id": own_id})
    assert revoked["revokeApiKey"]["revokedAt"] is not None
    response = await api_client.post(
        "/graphql",
        json={"query": "{ workspace { id } }"},
        headers={"Authorization": f"Bearer {workspace.admin_api_key}"},
    )
    assert response.status_code == 401


async def test_a_read_key_gets_a_permission_error_from_every_mutation(
    api_client: Client, workspace: NewWorkspace
):
    reader = (
        await data(
            api_client,
            workspace.admin_api_key,
            CREATE_KEY,
            {"input": {"name": "dashboard", "scopes": ["READ"]}},
        )
    )["createApiKey"]["secret"]
    body = await execute(
        api_client,
        reader,
        """mutation {
          createTrafficSource(input: {name: "PushNet"}) { __typename }
          updateWorkspace(input: {name: "Taken over"}) { __typename }
        }""",
    )
    assert body["data"] is None
    error = body["errors"][0]
    assert "read scope only" in error["message"]
    assert "admin scope" in error["message"]
    assert error["extensions"] == {"requestId": ANY, "code": "FORBIDDEN"}
    after = await data(api_client, reader, "{ trafficSources { id } workspace { name } }")
    assert after == {"trafficSources": [], "workspace": {"name": "Acme Media"}}


async def test_a_keys_last_use_is_recorded_at_most_once_a_minute(
    api_client: Client, workspace: NewWorkspace, session: AsyncSession
):
    query = "{ apiKeys { name lastUsedAt } }"
    first = await data(api_client, workspace.admin_api_key, query)
    used = datetime.fromisoformat(first["apiKeys"][0]["lastUsedAt"])
    assert abs(datetime.now(UTC) - used) < timedelta(seconds=30)
    # Moved back an hour: a request within the minute leaves it there, so it was not rewritten.
    # The time computed here: Citus refuses a multi-shard UPDATE whose STABLE operator
    # (timestamptz minus interval) takes a column.
    await session.execute(
        text("UPDATE api_keys SET last_used_at = :earlier"), {"earlier": used - timedelta(hours=1)}
    )
    await session.commit()
    second = await data(api_client, workspace.admin_api_key, query)
    assert datetime.fromisoformat(second["apiKeys"][0]["lastUsedAt"]) == used - timedelta(hours=1)


async def test_current_api_key_is_the_key_the_request_is_sent_with(
    api_client: Client, workspace: NewWorkspace, session: AsyncSession
):
    reader = (
        await data(
            api_client,
            workspace.admin_api_key,
            CREATE_KEY,
            {"input": {"name": "grafana", "scopes": ["READ"]}},
        )
    )["createApiKey"]
    other = await create_workspace(session, name="Other")
    await session.commit()
    query = "{ currentApiKey { id name scopes revokedAt } }"
    as_admin = (await data(api_client, workspace.admin_api_key, query))["currentApiKey"]
    as_reader = (await data(api_client, reader["secret"], query))["currentApiKey"]
    elsewhere = (await data(api_client, other.admin_api_key, query))["currentApiKey"]
    assert as_admin["name"] == "admin"
    assert "ADMIN" in as_admin["scopes"]
    assert as_reader == {
        "id": reader["apiKey"]["id"],
        "name": "grafana",
        "scopes": ["READ"],
        "revokedAt": None,
    }
    assert elsewhere["id"] not in (as_admin["id"], as_reader["id"])
