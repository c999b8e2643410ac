"""The ingestion Litestar app."""

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from models.database import database_lifespan, provide_session
from models.embedded import database_url
from models.health import health
from models.partitions import partition_upkeep
from models.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    return Litestar(
        route_handlers=[health],
        state=State({"settings": settings, "database_url": database_url(settings)}),
        lifespan=[database_lifespan("clicktrail-ingestion"), partition_upkeep()],
        dependencies={"session": Provide(provide_session)},
        openapi_config=OpenAPIConfig(title="clicktrail ingestion", version="0.1.0"),
    )
