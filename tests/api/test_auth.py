"""API keys: a process trusts a key it found active for a few seconds, never longer."""

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.app import create_app
from api.auth import ACTIVE_KEY_TTL_S, KeyDirectory
from api.workspaces.service import NewWorkspace, create_workspace
from models.settings import Settings

QUERY = {"query": "{ workspace { id } }"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_key_revoked_elsewhere_is_refused_once_its_trust_runs_out(
    settings: Settings, engine: AsyncEngine, workspace: NewWorkspace
):
    clock = Clock()
    app = create_app(settings)
    app.state.key_directory = KeyDirectory(timer=clock)
    headers = {"Authorization": f"Bearer {workspace.admin_api_key}"}
    async with AsyncTestClient(app=app) as client:
        assert (await client.post("/graphql", json=QUERY, headers=headers)).status_code == 200
        # Revoked by another process: this one reads no key until its trust runs out.
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE api_keys SET revoked_at = now() WHERE workspace_id = :ws"),
                {"ws": workspace.workspace.id},
            )
        assert (await client.post("/graphql", json=QUERY, headers=headers)).status_code == 200
        clock.now += ACTIVE_KEY_TTL_S + 0.1
        response = await client.post("/graphql", json=QUERY, headers=headers)
        assert response.status_code == 401
        assert "unknown or revoked" in response.text


async def test_a_trusted_key_acts_for_its_own_workspace_only(
    settings: Settings, session: AsyncSession, workspace: NewWorkspace
):
    other_workspace = await create_workspace(session, name="Other")
    await session.commit()
    async with AsyncTestClient(app=create_app(settings)) as client:
        for _ in range(2):
            for owner in (workspace, other_workspace):
                response = await client.post(
                    "/graphql",
                    json=QUERY,
                    headers={"Authorization": f"Bearer {owner.admin_api_key}"},
                )
                assert response.json()["data"]["workspace"]["id"] == str(owner.workspace.id)
