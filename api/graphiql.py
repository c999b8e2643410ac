"""GraphiQL's page, served without an API key, with its scripts from the package itself.

The page is static HTML; every query it sends is an ordinary request that needs
`Authorization: Bearer <key>` (set in GraphiQL's headers editor). Its scripts and styles are
files in `api/static/graphiql` (tools/refresh_assets.py fetches them from npm at pinned
versions), so the page works on a machine without internet.
"""

from pathlib import Path
from typing import Any

from litestar import MediaType, Request, Response, Router
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

_HERE = Path(__file__).parent
ASSETS_PATH = "/static/graphiql"
_PAGE = (_HERE / "graphiql.html").read_text()


def graphiql_assets() -> Router:
    return create_static_files_router(
        ASSETS_PATH,
        directories=[_HERE / "static" / "graphiql"],
        name="graphiql-assets",
        cache_control=CacheControlHeader(public=True, max_age=86_400),
    )


async def serve_graphiql(request: Request[Any, Any, Any]) -> Response[str] | None:
    """A before_request hook: it answers before the handler's dependencies (the key check) run.

    The test is strawberry's own (`should_render_graphql_ide`): a GET without `query` from a
    client that accepts HTML. Anything else goes on to the handler and its authentication.
    """
    if (
        request.method == "GET"
        and "query" not in request.query_params
        and any(accepted in request.headers.get("accept", "") for accepted in ("text/html", "*/*"))
    ):
        return Response(_PAGE, media_type=MediaType.HTML)
    return None
