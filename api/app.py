"""The GraphQL Litestar app."""

import gc
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import (
    HTTPException,
    LitestarDeprecationWarning,
    TooManyRequestsException,
)
from litestar.middleware import DefineMiddleware
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.stores.memory import MemoryStore

from api.auth import KeyDirectory, KeyUsage
from api.compiled.door import CompiledDoor
from api.compiled.reads import CompiledReads
from api.dashboard import dashboard_page, dashboard_routes
from api.graphiql import graphiql_assets, serve_graphiql
from api.http import graphql_controller, http_refusal, server_error
from api.live.feed import LiveFeed
from api.outage import DatabaseOutage
from api.ratelimit import STORE as RATE_LIMIT_STORE
from api.ratelimit import forget_expired_windows, rate_limit_config, too_many_requests
from api.schema import build_schema
from models.database import database_lifespan, driver_dsn, provide_session
from models.embedded import database_url
from models.health import health
from models.instruments import instrument
from models.logs import flush_logs, litestar_logging
from models.metrics import metrics, pool_metrics
from models.settings import Settings, get_settings

# strawberry's controller still relies on inferred dependencies (deprecated in Litestar 2.x).
warnings.filterwarnings(
    "ignore",
    message=r"\[paths='/', handler='(handle_http_get|handle_http_post|websocket_endpoint)'",
    category=LitestarDeprecationWarning,
)


@asynccontextmanager
async def _frozen_startup_objects(app: Litestar) -> AsyncIterator[None]:
    # The schema, the app and the pool live as long as the process: keep them out of the GC
    # passes that every request's thousands of result objects set off.
    gc.collect()
    gc.freeze()
    yield


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    outage = DatabaseOutage()
    schema = build_schema(settings, outage=outage)
    compiled = CompiledReads(schema, settings) if settings.api_compiled_reads else None
    controller = graphql_controller(
        schema,
        graphiql=bool(settings.graphiql),
        compiled=compiled,
        allowed_origins=settings.cors_origins,
    )
    if compiled is not None:
        # Compiled documents are answered before the controller's dependencies are resolved.
        door = DefineMiddleware(CompiledDoor, reads=compiled)
        controller.middleware = [door]
    # GraphiQL's page has to load before the user can give it a key.
    controller.before_request = serve_graphiql if settings.graphiql else None

    rate_limit = settings.api_rate_limit_per_minute
    rate_limit_store = MemoryStore()
    url = database_url(settings)
    live_feed = LiveFeed(
        driver_dsn(url),
        queue_size=settings.live_feed_queue_size,
        max_subscribers=settings.live_feed_max_subscribers,
    )
    app = Litestar(
        route_handlers=[
            health,
            metrics,
            controller,
            dashboard_page,
            *dashboard_routes(),
            *([graphiql_assets()] if settings.graphiql else []),
        ],
        state=State(
            {
                "settings": settings,
                "database_url": url,
                "key_directory": KeyDirectory(),
                "key_usage": KeyUsage(),
                "database_outage": outage,
                "live_feed": live_feed,
            }
        ),
        lifespan=[
            database_lifespan("clicktrail-api"),
            pool_metrics,
            live_feed.lifespan,
            *([forget_expired_windows(rate_limit_store)] if rate_limit else []),
            _frozen_startup_objects,
        ],
        dependencies={"session": Provide(provide_session)},
        middleware=[rate_limit_config(rate_limit).middleware] if rate_limit else [],
        stores={RATE_LIMIT_STORE: rate_limit_store},
        exception_handlers={
            HTTPException: http_refusal,
            TooManyRequestsException: too_many_requests,
            HTTP_500_INTERNAL_SERVER_ERROR: server_error,
        },
        cors_config=CORSConfig(
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            # A wildcard would not cover Authorization (Fetch standard): name it.
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=[
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "X-Request-ID",
            ],
        )
        if settings.cors_origins
        else None,
        logging_config=litestar_logging(settings),
        on_shutdown=[flush_logs],
    )
    return instrument(app, access_log=settings.api_access_log)
