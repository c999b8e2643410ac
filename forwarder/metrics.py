"""The forwarder's metrics, and the port that serves them (`CLICKTRAIL_FORWARDER_METRICS_PORT`).

The forwarder is one process with no HTTP side of its own: prometheus-client's threaded
server answers scrapes beside its event loop, with the apps' token check.
"""

import threading
from http.server import ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import MetricsHandler
from sqlalchemy.ext.asyncio import AsyncEngine

from models.metrics import LATENCY_BUCKETS, token_matches
from models.settings import Settings

# Its own registry: the apps' metrics (registered when models.metrics is imported) are not the
# forwarder's to report.
REGISTRY = CollectorRegistry()
FORWARDS = Counter(
    "clicktrail_forwards_total",
    "Forward attempts by result: delivered, failed (to be retried) or dead (dead-lettered).",
    ["result"],
    registry=REGISTRY,
)
FORWARD_SECONDS = Histogram(
    "clicktrail_forward_duration_seconds",
    "Forward attempts' time, from sending to the answer (or the failure).",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
FORWARDS_IN_FLIGHT = Gauge(
    "clicktrail_forwards_in_flight",
    "Forwards claimed by this forwarder and not yet settled.",
    registry=REGISTRY,
)

# The apps' names and labels, so one dashboard panel shows every process's pool.
DB_POOL_CONNECTIONS = Gauge(
    "clicktrail_db_pool_connections",
    "The forwarder's pooled database connections in use and idle (read at each scrape).",
    ["state"],
    registry=REGISTRY,
)
DB_POOL_LIMIT = Gauge(
    "clicktrail_db_pool_limit",
    "Connections the forwarder's pool may open at most (pool size plus overflow).",
    registry=REGISTRY,
)


def watch_pool(engine: AsyncEngine, settings: Settings) -> None:
    """Report ``engine``'s pool. One process and one pool: each scrape reads the counts as they
    are (the apps sample every second because a scrape there sums other workers' files)."""
    pool = engine.pool
    DB_POOL_CONNECTIONS.labels("in_use").set_function(pool.checkedout)  # type: ignore[attr-defined]
    DB_POOL_CONNECTIONS.labels("idle").set_function(pool.checkedin)  # type: ignore[attr-defined]
    DB_POOL_LIMIT.set(settings.pool_size + settings.pool_max_overflow)


class MetricsPortInUseError(Exception):
    """The forwarder's metrics port is taken."""


def serve_metrics(settings: Settings) -> ThreadingHTTPServer | None:
    """Answer scrapes at http://host:port/metrics in a daemon thread; None when turned off."""
    port = settings.forwarder_metrics_port
    if not port:
        return None

    class Handler(MetricsHandler):
        registry = REGISTRY

        def do_GET(self) -> None:
            if not token_matches(settings, self.headers.get("Authorization")):
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Bearer realm="metrics"')
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, format: str, *args: object) -> None:
            """Scrapes every few seconds are not worth a log line each."""

    try:
        server = ThreadingHTTPServer((settings.host, port), Handler)
    except OSError as exc:
        raise MetricsPortInUseError(
            f"cannot listen on {settings.host}:{port} for the forwarder's metrics "
            f"({exc.strerror}); free the port, or set CLICKTRAIL_FORWARDER_METRICS_PORT to "
            "another (0 turns them off)"
        ) from exc
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
