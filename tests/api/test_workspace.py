from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.workspaces.service import NewWorkspace, create_workspace
from models import ConversionType
from models.enums import DuplicatePolicy

WORKSPACE_QUERY = "{ workspace { id name timezone currency createdAt } }"


async def test_a_key_reads_its_own_workspace(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    response = await api_client.post(
        "/graphql",
        json={"query": WORKSPACE_QUERY},
        headers={"Authorization": f"Bearer {workspace.admin_api_key}"},
    )
    assert response.status_code == 200
    data = response.json()["data"]["workspace"]
    assert data["id"] == str(workspace.workspace.id)
    assert data["name"] == "Acme Media"
    assert data["timezone"] == "Europe/Berlin"
    assert data["currency"] == "USD"


async def test_two_workspaces_see_only_themselves(
    api_client: AsyncTestClient[Litestar], session: AsyncSession, workspace: NewWorkspace
):
    other = await create_workspace(session, name="Other", currency="EUR")
    await session.commit()
    for created in (workspace, other):
        response = await api_client.post(
            "/graphql",
            json={"query": WORKSPACE_QUERY},
            headers={"Authorization": f"Bearer {created.admin_api_key}"},
        )
        assert response.json()["data"]["workspace"]["id"] == str(created.workspace.id)


async def test_anonymous_requests_get_401_even_for_introspection(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    for headers in ({}, {"Authorization": "Bearer ct_not-a-key"}, {"Authorization": "Basic x"}):
        response = await api_client.post(
            "/graphql", json={"query": "{ __schema { types { name } } }"}, headers=headers
        )
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "API key" in response.json()["detail"]


async def test_new_workspace_has_the_builtin_conversion_types(
    session: AsyncSession, workspace: NewWorkspace
):
    rows = (
        await session.execute(
            select(ConversionType).where(col(ConversionType.workspace_id) == workspace.workspace.id)
        )
    ).scalars()
    types = {row.name: row for row in rows}
    assert set(types) == {"conversion", "transaction"}
    assert types["conversion"].counts_as_conversion
    assert types["conversion"].duplicate_policy == DuplicatePolicy.IGNORE
    assert not types["transaction"].counts_as_conversion
    assert types["transaction"].counts_in_revenue
    assert types["transaction"].duplicate_policy == DuplicatePolicy.NEW_PER_TXID
