"""`clicktrail serve-forwarder`: the forwarder as a process of its own, until SIGINT/SIGTERM."""

import asyncio
import logging
import signal
import sys
from functools import partial

from forwarder.metrics import MetricsPortInUseError, serve_metrics, watch_pool
from forwarder.retention import PRUNE_EVERY_S, prune_forwards
from forwarder.sender import Forwarder
from models.database import create_engine, display_url
from models.logs import configure_logging
from models.periodic import periodically
from models.settings import Settings, get_settings

logger = logging.getLogger("forwarder")


async def serve(settings: Settings, database_url: str) -> None:
    engine = create_engine(database_url, settings, application_name="clicktrail-forwarder")
    watch_pool(engine, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    forwarder = Forwarder(engine, settings)
    logger.info("forwarding conversions from %s", display_url(database_url))
    prune = partial(prune_forwards, engine, retention_days=settings.forward_retention_days)
    try:
        # The first prune a minute after the start: a restart loop does not repeat it.
        async with periodically(
            prune, what="prune settled forwards", every_s=PRUNE_EVERY_S, first_after_s=60
        ):
            await forwarder.run(stop)
    finally:
        await engine.dispose()
    logger.info("forwarder stopped after %s deliveries", forwarder.delivered)


def run(settings: Settings, database_url: str) -> None:
    configure_logging(settings)
    try:
        metrics = serve_metrics(settings)
    except MetricsPortInUseError as error:
        sys.exit(f"clicktrail: error: {error}")
    if metrics is not None:
        logger.info("metrics at http://%s:%s/metrics", *metrics.server_address[:2])
    try:
        import uvloop  # optional: not on Windows
    except ImportError:
        asyncio.run(serve(settings, database_url))
    else:
        uvloop.run(serve(settings, database_url))
    finally:
        if metrics is not None:
            metrics.shutdown()


if __name__ == "__main__":
    settings = get_settings()
    if not settings.database_url:
        sys.exit("clicktrail: error: the forwarder needs CLICKTRAIL_DATABASE_URL")
    run(settings, settings.database_url)
