"""GraphiQL's page, served without an API key.

The page is static HTML; every query it sends is an ordinary request that needs
`Authorization: Bearer <key>` (set in GraphiQL's headers editor).
"""

from typing import Any

from litestar import MediaType, Request, Response
from strawberry.http.ides import get_graphql_ide_html

_PAGE = get_graphql_ide_html(graphql_ide="graphiql")


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
