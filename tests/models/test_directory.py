"""Identifiers resolved without a workspace name exactly one workspace, whoever chooses them."""

import asyncio
import logging
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.workspaces.service import NewWorkspace, create_workspace
from models.catalog import CAMPAIGN_KEY
from models.database import create_engine
from models.migrate import upgrade
from models.settings import Settings
from tests.api.graphql import data
from tests.api.test_catalog_mutations import create_offer
from tests.conftest import create_database, drop_database
from tests.models.test_migrations import _old_campaign, _old_workspace

Client = AsyncTestClient[Litestar]

CREATE = """
mutation($input: CreateCampaignInput!) {
  createCampaign(input: $input) {
    __typename
    ... on Campaign { id key }
    ... on Error { message }
    ... on Conflict { field }
  }
}"""
DELETE = "mutation($id: ID!) { deleteCampaign(id: $id) { __typename } }"


async def _create(client: Client, api_key: str, offer_id: str, **input: Any) -> dict[str, Any]:
    input = {"name": "Spring", "offers": [{"offerId": offer_id}], **input}
    result: dict[str, Any] = (await data(client, api_key, CREATE, {"input": input}))[
        "createCampaign"
    ]
    return result


async def _two_workspaces(api_client: Client, session: AsyncSession, workspace: NewWorkspace):
    other = await create_workspace(session, name="Other")
    await session.commit()
    ours = await create_offer(api_client, workspace.admin_api_key, "Ours")
    theirs = await create_offer(api_client, other.admin_api_key, "Theirs")
    return other, ours["id"], theirs["id"]


async def test_another_workspaces_campaign_key_is_refused_and_its_link_keeps_its_traffic(
    api_client: Client,
    ingestion_client: Client,
    session: AsyncSession,
    workspace: NewWorkspace,
):
    other, ours, theirs = await _two_workspaces(api_client, session, workspace)
    victim = await _create(api_client, workspace.admin_api_key, ours, key="spring-sale")
    assert victim["__typename"] == "Campaign"

    taken = await _create(api_client, other.admin_api_key, theirs, key="spring-sale")
    assert taken == {
        "__typename": "Conflict",
        "message": "this campaign key is taken; choose another one (or leave it out for a "
        "random one)",
        "field": "key",
    }
    # The same words as for a key of one's own workspace: nothing tells the two apart.
    again = await _create(api_client, workspace.admin_api_key, ours, key="spring-sale", name="B")
    assert again == taken

    # The routine edit that used to reorder the rows a lookup by key alone found.
    await data(
        api_client,
        workspace.admin_api_key,
        'mutation($id: ID!) { updateCampaign(input: {id: $id, name: "Edited"}) { __typename } }',
        {"id": victim["id"]},
    )
    response = await ingestion_client.get("/c/spring-sale", follow_redirects=False)
    assert response.status_code == 302
    clicks = await session.execute(text("SELECT workspace_id, campaign_id FROM clicks"))
    assert [tuple(row) for row in clicks] == [(workspace.workspace.id, int(victim["id"]))]


async def test_a_deleted_campaigns_key_stays_its_workspaces(
    api_client: Client, session: AsyncSession, workspace: NewWorkspace
):
    other, ours, theirs = await _two_workspaces(api_client, session, workspace)
    first = await _create(api_client, workspace.admin_api_key, ours, key="old-link")
    deleted = await data(api_client, workspace.admin_api_key, DELETE, {"id": first["id"]})
    assert deleted["deleteCampaign"]["__typename"] == "Deleted"

    # Links with this key may still run in ads: another workspace must not receive them.
    stolen = await _create(api_client, other.admin_api_key, theirs, key="old-link")
    assert stolen["__typename"] == "Conflict"
    revived = await _create(api_client, workspace.admin_api_key, ours, key="old-link")
    assert revived["__typename"] == "Campaign"


async def test_two_workspaces_claiming_one_key_at_once_get_one_campaign(
    api_client: Client, session: AsyncSession, workspace: NewWorkspace
):
    other, ours, theirs = await _two_workspaces(api_client, session, workspace)
    for attempt in range(5):
        key = f"race-{attempt}"
        results = await asyncio.gather(
            _create(api_client, workspace.admin_api_key, ours, key=key, name=key),
            _create(api_client, other.admin_api_key, theirs, key=key, name=key),
        )
        assert sorted(r["__typename"] for r in results) == ["Campaign", "Conflict"]
    owners = await session.execute(
        text("SELECT count(DISTINCT workspace_id) FROM campaigns GROUP BY key")
    )
    assert set(owners.scalars()) == {1}


async def test_the_database_refuses_a_campaign_whose_key_another_workspace_holds(
    api_client: Client, session: AsyncSession, workspace: NewWorkspace
):
    other, ours, _ = await _two_workspaces(api_client, session, workspace)
    await _create(api_client, workspace.admin_api_key, ours, key="held-key")
    with pytest.raises(IntegrityError, match="fk_campaigns_campaign_keys"):
        await session.execute(
            text(
                "INSERT INTO campaigns (workspace_id, key, name) VALUES (:w, 'held-key', 'Sneaky')"
            ),
            {"w": other.workspace.id},
        )
    await session.rollback()


async def test_postback_secrets_and_api_key_hashes_are_unique_across_workspaces(
    session: AsyncSession, workspace: NewWorkspace
):
    other = await create_workspace(session, name="Other")
    await session.commit()
    other_id = other.workspace.id
    for statement, values in (
        (
            "INSERT INTO postback_secrets (workspace_id, secret) VALUES (:w, :v)",
            workspace.postback_secret,
        ),
        (
            "INSERT INTO api_key_hashes (workspace_id, secret_hash) "
            "SELECT :w, secret_hash FROM api_key_hashes WHERE workspace_id <> :w LIMIT 1",
            None,
        ),
    ):
        with pytest.raises(IntegrityError, match="duplicate key"):
            await session.execute(text(statement), {"w": other_id, "v": values})
        await session.rollback()


async def test_the_migration_keeps_the_oldest_campaign_on_a_shared_key_and_says_what_it_changed(
    server_url: str, caplog: pytest.LogCaptureFixture
):
    url = await create_database(server_url)
    engine = create_engine(url, Settings(database_url=url), application_name="clicktrail-tests")
    try:
        await upgrade(engine, revision="0007")
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            first = await _old_workspace(session, name="First")
            second = await _old_workspace(session, name="Second")
            live = await _old_campaign(session, first, name="Live", key="shared")
            copy = await _old_campaign(session, second, name="Copy", key="shared")
            alone = await _old_campaign(session, second, name="Alone", key="alone")
            await session.execute(
                text(
                    "INSERT INTO api_keys (workspace_id, name, prefix, secret_hash, scopes) "
                    "VALUES (:w, 'k', 'ct_', '\\x01', '{read}')"
                ),
                {"w": second},
            )
            await session.commit()

            with caplog.at_level(logging.WARNING, logger="clicktrail.migrations"):
                await upgrade(engine)
            rows = await session.execute(
                text(
                    "SELECT c.id, c.key, k.workspace_id FROM campaigns c JOIN campaign_keys k "
                    "USING (key) ORDER BY c.id"
                )
            )
            keys = {row.id: (row.key, row.workspace_id) for row in rows}
            assert keys[live] == ("shared", first)
            assert keys[alone] == ("alone", second)
            renamed, owner = keys[copy]
            assert owner == second
            assert renamed.startswith("shared-")
            assert CAMPAIGN_KEY.fullmatch(renamed)
            said = [r.getMessage() for r in caplog.records if r.name == "clicktrail.migrations"]
            assert said == [
                f"campaign key 'shared' was used in several workspaces: workspace {first} "
                f"campaign {live} (the oldest) keeps it; workspace {second} campaign {copy} "
                f"'Copy' now has the key {renamed!r}, so its tracking link is /c/{renamed}"
            ]
            hashes = await session.execute(text("SELECT workspace_id FROM api_key_hashes"))
            assert list(hashes.scalars()) == [second]
    finally:
        await engine.dispose()
        await drop_database(server_url, url)
