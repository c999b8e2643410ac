"""Prometheus metrics of both apps, and `/metrics` (the forwarder's are in forwarder/metrics).

The apps run under granian with several worker processes, so the figures live in
prometheus-client's multiprocess mode: each worker writes its own files under
`PROMETHEUS_MULTIPROC_DIR` (which `clicktrail.servers.run_service` creates for each run and
removes after it), and a scrape of any worker sums them all. That variable must be set before
prometheus_client is first imported in the process: the CLI therefore never imports this module
(a test holds it), and the workers import it after granian forks them. Without the variable (the
tests, the forwarder) the figures are the process's own.

Labels hold only bounded sets: route templates (never raw paths), methods, status codes, reason
codes, queue names, report sources.
"""

import hmac
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.exceptions import NotAuthorizedException
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.ext.asyncio import AsyncEngine

from models.periodic import periodically
from models.settings import Settings

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Short requests (a redirect takes ~1 ms of CPU) up to reports that run for seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
POOL_SAMPLE_EVERY_S = 1.0

HTTP_REQUEST_SECONDS = Histogram(
    "clicktrail_http_request_duration_seconds",
    "HTTP requests by route template, method and status, and how long they took to answer.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
GROUP_COMMIT_BATCH = Histogram(
    "clicktrail_group_commit_batch_size",
    "Items committed together by one group commit (clicks: requests' click units).",
    ["queue"],
    buckets=BATCH_BUCKETS,
)
GROUP_COMMIT_WAIT_SECONDS = Histogram(
    "clicktrail_group_commit_wait_seconds",
    "From a batch's first item being queued to the batch's commit ending: the longest any of "
    "its requests waited.",
    ["queue"],
    buckets=LATENCY_BUCKETS,
)
QUEUE_DEPTH = Gauge(
    "clicktrail_queue_depth",
    "Items waiting for the next group commit, as a batch is taken (summed over workers).",
    ["queue"],
    multiprocess_mode="livesum",
)
POSTBACKS = Counter(
    "clicktrail_postbacks_total",
    "Postback and pixel hits by kind, outcome and reason code.",
    ["kind", "outcome", "reason"],
)
DB_POOL_CONNECTIONS = Gauge(
    "clicktrail_db_pool_connections",
    "Pooled database connections in use and idle, summed over workers (sampled every second).",
    ["state"],
    multiprocess_mode="livesum",
)
DB_POOL_LIMIT = Gauge(
    "clicktrail_db_pool_limit",
    "Connections the workers' pools may open at most (pool size plus overflow, summed).",
    multiprocess_mode="livesum",
)
REPORT_SECONDS = Histogram(
    "clicktrail_report_duration_seconds",
    "GraphQL reports and counts by the table they read (a rollup or raw) and their run time.",
    ["source"],
    buckets=LATENCY_BUCKETS,
)
PARTITIONS_DROPPED = Counter(
    "clicktrail_partitions_dropped_total",
    "Monthly partitions of raw rows dropped by retention (CLICKTRAIL_RAW_RETENTION_DAYS), by "
    "parent table.",
    ["table"],
)


def exposition() -> bytes:
    """The text a scrape gets: every worker's figures in multiprocess mode."""
    if os.environ.get(MULTIPROC_VARIABLE):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def token_matches(settings: Settings, authorization: str | None) -> bool:
    """Whether a scrape may read: always without CLICKTRAIL_METRICS_TOKEN, else with
    `Authorization: Bearer <token>`."""
    if not settings.metrics_token:
        return True
    expected = f"Bearer {settings.metrics_token}".encode()
    return hmac.compare_digest((authorization or "").encode(), expected)


@get("/metrics", include_in_schema=False, cache=False)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    settings: Settings = request.app.state.settings
    if not token_matches(settings, request.headers.get("authorization")):
        raise NotAuthorizedException(
            detail="send the metrics token: Authorization: Bearer <CLICKTRAIL_METRICS_TOKEN>",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


def sample_pool(engine: AsyncEngine, settings: Settings) -> None:
    pool = engine.pool
    in_use = pool.checkedout()  # type: ignore[attr-defined]
    DB_POOL_CONNECTIONS.labels("in_use").set(in_use)
    DB_POOL_CONNECTIONS.labels("idle").set(pool.checkedin())  # type: ignore[attr-defined]
    DB_POOL_LIMIT.set(settings.pool_size + settings.pool_max_overflow)


@asynccontextmanager
async def pool_metrics(app: Litestar) -> AsyncIterator[None]:
    """A lifespan hook (after the database's) that samples the pool every second."""
    engine: AsyncEngine = app.state.engine
    settings: Settings = app.state.settings

    async def sample() -> None:
        sample_pool(engine, settings)

    async with periodically(sample, what="sample pool metrics", every_s=POOL_SAMPLE_EVERY_S):
        yield
