"""The GraphQL Litestar app."""

import warnings

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import LitestarDeprecationWarning
from strawberry.litestar import make_graphql_controller

from api.context import provide_context
from api.schema import schema
from models.database import database_lifespan, provide_session
from models.embedded import database_url
from models.health import health
from models.settings import Settings, get_settings

# strawberry's controller still relies on inferred dependencies (deprecated in Litestar 2.x).
warnings.filterwarnings(
    "ignore",
    message=r"\[paths='/', handler='(handle_http_get|handle_http_post|websocket_endpoint)'",
    category=LitestarDeprecationWarning,
)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    graphql = make_graphql_controller(
        schema,
        path="/graphql",
        context_getter=provide_context,
        graphql_ide="graphiql" if settings.graphiql else None,
    )
    return Litestar(
        route_handlers=[health, graphql],
        state=State({"settings": settings, "database_url": database_url(settings)}),
        lifespan=[database_lifespan("clicktrail-api")],
        dependencies={"session": Provide(provide_session)},
    )
