"""What both apps wrap every request in: a request id, the access log and request metrics.

The wrapper sits outside Litestar's router and exception handler, so a 404 for a path no route
has, and a 500, carry the id too. The id is the client's `X-Request-ID` when it is a sane one
(1 to 128 letters, digits and `._:/+=-`: nothing that could break a log line or a header),
else a new random one; it is echoed as the response's `X-Request-ID`, put on every log line
written while the request runs (models.logs) and into error bodies.
"""

import logging
import os
import re
import time
from typing import cast

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from prometheus_client import Histogram

from models.logs import request_id
from models.metrics import HTTP_REQUEST_SECONDS

access_logger = logging.getLogger("clicktrail.access")

HEADER = b"x-request-id"
_SANE_ID = re.compile(rb"[A-Za-z0-9._:/+=-]{1,128}")
# Path parameters that are credentials: the access log shows them as ***.
_SECRET_PARAMETERS = ("secret", "filename")
# Methods counted by name; a server passes any token through, which would grow the labels.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A request no route matched (any path a client makes up) counts under one route label.
UNMATCHED = "unmatched"


def incoming_id(scope: Scope) -> str:
    """The client's X-Request-ID if it is sane, else a new one (64 random bits, hex)."""
    for name, value in scope["headers"]:
        if name == HEADER:
            if _SANE_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return os.urandom(8).hex()


class Instruments:
    """The ASGI wrapper; ``access_log`` turns the access log line per request on."""

    def __init__(self, app: ASGIApp, *, access_log: bool) -> None:
        self._app = app
        self._access_log = access_log
        # (route, method, status) -> its histogram: labels() costs a lock and a lookup.
        self._histograms: dict[tuple[str, str, int], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            # A websocket's log lines carry an id too (a subscription lives as long as it).
            token = request_id.set(incoming_id(scope))
            try:
                await self._app(scope, receive, send)
            finally:
                request_id.reset(token)
            return
        rid = incoming_id(scope)
        token = request_id.set(rid)
        header = (HEADER, rid.encode("ascii"))
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        started = time.perf_counter()
        try:
            await self._app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            self._observe(scope, status, seconds)
            if self._access_log:
                _log_access(scope, status, seconds)
            request_id.reset(token)

    def _observe(self, scope: HTTPScope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in _METHODS else "other"
        key = (scope.get("path_template") or UNMATCHED, method, status)
        histogram = self._histograms.get(key)
        if histogram is None:
            histogram = self._histograms[key] = HTTP_REQUEST_SECONDS.labels(
                key[0], method, str(status)
            )
        histogram.observe(seconds)


def _log_access(scope: HTTPScope, status: int, seconds: float) -> None:
    raw = cast(bytes | None, scope.get("raw_path"))
    # As the client sent it (percent-encoded: no control characters), without the query string,
    # which can carry personal data and tokens.
    path = raw.split(b"?", 1)[0].decode("ascii", "backslashreplace") if raw else scope["path"]
    parameters = scope.get("path_params") or {}
    for name in _SECRET_PARAMETERS:
        value = parameters.get(name)
        if isinstance(value, str) and value:
            path = path.replace(value, "***")
    client = scope.get("client")
    address = client[0] if client else "-"
    duration_ms = round(seconds * 1000, 2)
    access_logger.info(
        '%s "%s %s" %s %.2f ms',
        address,
        scope["method"],
        path,
        status,
        duration_ms,
        extra={
            "http": {
                "client": address,
                "method": scope["method"],
                "path": path,
                "route": scope.get("path_template"),
                "status": status,
                "duration_ms": duration_ms,
            }
        },
    )


def instrument(app: Litestar, *, access_log: bool) -> Litestar:
    """The app, with every request it serves wrapped in Instruments."""
    app.asgi_handler = Instruments(app.asgi_handler, access_log=access_log)
    return app
