"""The ingestion Litestar app."""

import gc
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from importlib.metadata import version

from litestar import HttpMethod, Litestar, Response, route
from litestar.datastructures import State
from litestar.handlers import HTTPRouteHandler
from sqlalchemy.ext.asyncio import AsyncEngine

from ingestion.clicks.endpoints import record_clicks, tracking_link
from ingestion.clicks.repository import prune_fingerprints
from ingestion.clicks.service import CampaignDirectory
from ingestion.clicks.writer import ClickWriter
from ingestion.costs.service import CostUpdateWorker
from ingestion.errors import EXCEPTION_HANDLERS
from ingestion.openapi_ui import openapi_config, swagger_assets
from ingestion.postbacks.endpoints import pixel, postback_get, postback_post
from ingestion.postbacks.service import WorkspaceDirectory
from ingestion.postbacks.writer import PostbackWriter
from ingestion.uploads.service import UploadWorker
from ingestion.visitors import CountryResolver, warm_up
from models.database import database_lifespan
from models.embedded import database_url
from models.health import health
from models.instruments import instrument
from models.logs import flush_logs, litestar_logging
from models.metrics import metrics, pool_metrics
from models.partition_upkeep import partition_upkeep
from models.periodic import periodically
from models.rollups import compact_rollups
from models.settings import Settings, get_settings

log = logging.getLogger(__name__)

FINGERPRINT_PRUNE_INTERVAL_S = 3600
# Pending rollup rows cost reports a little more to read; folding them is cheap.
ROLLUP_COMPACTION_INTERVAL_S = 2
# How soon an upload taken by the API starts being applied; a look costs one indexed read.
UPLOAD_POLL_INTERVAL_S = 1
# The same for a cost update.
COST_UPDATE_POLL_INTERVAL_S = 1


@asynccontextmanager
async def ingestion_lifespan(app: Litestar) -> AsyncIterator[None]:
    """The per-process pieces of the write path: caches, the click writer, GeoIP."""
    settings: Settings = app.state.settings
    warm_up()
    writer = ClickWriter(
        app.state.engine,
        durable=settings.click_durability == "durable",
        unique_window=timedelta(hours=settings.unique_window_hours),
        flush_interval_s=settings.click_flush_ms / 1000,
    )
    countries = CountryResolver(
        header=settings.country_header, geoip_database=settings.geoip_database
    )
    app.state.writer = writer
    app.state.directory = CampaignDirectory(app.state.engine)
    app.state.workspaces = WorkspaceDirectory(app.state.engine)
    app.state.postbacks = postbacks = PostbackWriter(app.state.engine)
    app.state.countries = countries
    await writer.start()
    postbacks.start()
    # Everything allocated so far lives as long as the process: keep it out of GC passes,
    # which otherwise walk it again and again under load.
    gc.collect()
    gc.freeze()
    try:
        async with (
            periodically(
                partial(_prune_fingerprints, app.state.engine, writer.unique_window),
                what="prune click fingerprints",
                every_s=FINGERPRINT_PRUNE_INTERVAL_S,
            ),
            periodically(
                partial(_compact_rollups, app.state.engine, stuck=set()),
                what="compact rollups",
                every_s=ROLLUP_COMPACTION_INTERVAL_S,
            ),
            # Its own failures are logged per job; this one only sees the queue's.
            periodically(
                UploadWorker(app.state.engine).run_queued,
                what="look for uploaded conversions",
                every_s=UPLOAD_POLL_INTERVAL_S,
            ),
            periodically(
                CostUpdateWorker(app.state.engine).run_queued,
                what="look for cost updates",
                every_s=COST_UPDATE_POLL_INTERVAL_S,
            ),
        ):
            yield
    finally:
        await postbacks.stop()
        await writer.stop()
        countries.close()


async def _compact_rollups(engine: AsyncEngine, *, stuck: set[int]) -> None:
    """Fold the pending rollup rows; say once when a workspace's cannot be, and when they can
    again (``stuck`` carries the workspaces from one run to the next)."""
    async with engine.begin() as conn:
        result = await compact_rollups(conn)
    for workspace_id, error in result.failed.items():
        if workspace_id not in stuck:
            log.error(
                "rollup rows of workspace %s cannot be compacted and stay pending (reports "
                "still count them; other workspaces are compacted): %s",
                workspace_id,
                error,
            )
    for workspace_id in stuck - result.failed.keys():
        log.info("rollup rows of workspace %s are compacted again", workspace_id)
    stuck.clear()
    stuck.update(result.failed)


async def _prune_fingerprints(engine: AsyncEngine, window: timedelta) -> None:
    """Forget visitors older than the uniqueness window, so the table stays small."""
    await prune_fingerprints(engine, older_than=datetime.now(UTC) - window)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    app = Litestar(
        route_handlers=[
            *_with_options(
                health,
                tracking_link,
                record_clicks,
                postback_get,
                postback_post,
                pixel,
            ),
            swagger_assets(),
            metrics,
        ],
        state=State({"settings": settings, "database_url": database_url(settings)}),
        lifespan=[
            database_lifespan("clicktrail-ingestion"),
            pool_metrics,
            partition_upkeep(),
            ingestion_lifespan,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi_config(version("clicktrail")),
        logging_config=litestar_logging(settings),
        on_shutdown=[flush_logs],
    )
    return instrument(app, access_log=settings.ingestion_access_log)


def _with_options(*handlers: HTTPRouteHandler) -> list[HTTPRouteHandler]:
    """The handlers, after an OPTIONS handler for each of their paths naming all its methods.

    Litestar 2 makes a path's OPTIONS handler when the path's first handler is registered and
    never updates it, so `Allow` missed the methods of the path's later handlers (POST of
    /postback; litestar-org/litestar#4169, fixed only in 3.0). One registered first is used.
    """
    methods: dict[str, set[str]] = defaultdict(set)
    for handler in handlers:
        for path in handler.paths:
            methods[path] |= handler.http_methods
    return [*(_options(path, methods[path]) for path in methods), *handlers]


def _options(path: str, methods: set[str]) -> HTTPRouteHandler:
    headers = {"Allow": ", ".join(sorted({*methods, HttpMethod.OPTIONS}))}

    @route(path, http_method=HttpMethod.OPTIONS, include_in_schema=False)
    async def options() -> Response[None]:
        return Response(None, status_code=204, headers=headers)

    return options
