from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.workspaces.service import NewWorkspace
from models.settings import Settings
from tests.api.graphql import auth, client_with
from tests.pages import assert_served_from_package, loaded_urls

STATIC = Path(__file__).parents[2] / "api" / "static" / "graphiql"

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


async def test_graphiql_page_loads_without_a_key_when_enabled(
    settings: Settings, workspace: NewWorkspace
):
    async with client_with(settings, graphiql=True) as client:
        response = await client.get("/graphql", headers=BROWSER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_graphiql_is_not_served_by_default(
    api_client: AsyncTestClient[Litestar], workspace: NewWorkspace
):
    anonymous = await api_client.get("/graphql", headers=BROWSER)
    assert anonymous.status_code == 401
    with_key = await api_client.get("/graphql", headers={**BROWSER, **auth(workspace)})
    assert with_key.status_code == 404
    assert "html" not in with_key.headers["content-type"]


async def test_operations_still_need_a_key_when_graphiql_is_enabled(
    settings: Settings, workspace: NewWorkspace
):
    query = "{ workspace { name } }"
    async with client_with(settings, graphiql=True) as client:
        posted = await client.post("/graphql", json={"query": query}, headers=BROWSER)
        got = await client.get("/graphql", params={"query": query}, headers=BROWSER)
        allowed = await client.get("/graphql", params={"query": query}, headers=auth(workspace))
    assert posted.status_code == 401
    assert got.status_code == 401
    assert allowed.json()["data"] == {"workspace": {"name": "Acme Media"}}


async def test_graphiql_loads_only_its_own_packaged_assets(settings: Settings):
    async with client_with(settings, graphiql=True) as client:
        page = await client.get("/graphql", headers=BROWSER)
        await assert_served_from_package(client, page.text, STATIC)
    assert {"/static/graphiql/graphiql.min.js", "/static/graphiql/react.production.min.js"} <= set(
        loaded_urls(page.text)
    )


async def test_graphiql_assets_are_not_served_when_graphiql_is_off(
    api_client: AsyncTestClient[Litestar],
):
    response = await api_client.get("/static/graphiql/graphiql.min.js")
    assert response.status_code == 404
