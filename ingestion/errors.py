"""One error shape for every ingestion answer: {"error": code, "detail": message, "request_id"}.

Litestar's own refusals (no such route, a method the route does not take, a body it cannot
read) and unexpected failures go through the same handler as the service's, so a client parses
one shape whatever went wrong.
"""

import logging
from http import HTTPStatus
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.types import ExceptionHandlersMap

from models.logs import request_id
from models.unavailable import RETRY_AFTER_S, connection_lost

logger = logging.getLogger(__name__)


class IngestionError(Exception):
    """An outcome a client must hear about: a stable machine code, a message and an HTTP status."""

    def __init__(self, code: str, detail: str, *, status_code: int = 400) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status_code = status_code


def not_recorded(what: str, error: BaseException) -> IngestionError:
    """The answer to a write the database did not take: an outage is a 503, which networks
    retry; anything else it raised is a 500, never a 503, as retrying would fail the same way.
    Either way the failure is logged where it happened (a lookup, a writer), once per run."""
    if connection_lost(error):
        return IngestionError(
            "unavailable", f"the {what} could not be recorded; retry", status_code=503
        )
    return IngestionError(
        "internal_error", f"the {what} could not be recorded; it is logged", status_code=500
    )


# Codes of Litestar's refusals where the service has its own name for them (else the status).
_CODES = {413: "body_too_large"}


def error_body(code: str, detail: str) -> dict[str, str]:
    """A refusal's body; its request id lets the client's report be found in the log."""
    body = {"error": code, "detail": detail}
    rid = request_id.get()
    if rid is not None:
        body["request_id"] = rid
    return body


def error_response(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, str]]:
    headers: dict[str, str] | None = None
    if isinstance(exc, IngestionError):
        code, detail, status_code = exc.code, exc.detail, exc.status_code
    elif isinstance(exc, HTTPException) and exc.status_code < 500:
        status_code, headers, detail = exc.status_code, exc.headers, exc.detail
        code = _CODES.get(status_code) or HTTPStatus(status_code).phrase.lower().replace(" ", "_")
        if status_code == 404:
            detail = f"no endpoint at {request.url.path[:200]!r}; /schema lists them"
        elif status_code == 405:
            allowed = next((v for k, v in (headers or {}).items() if k.lower() == "allow"), "")
            detail = f"{request.method} is not allowed here; allowed: {allowed}"
    else:
        # Litestar logs unhandled exceptions only in debug mode: say here what went wrong.
        logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        code, detail, status_code = "internal_error", "an unexpected error; it is logged", 500
    if status_code == HTTPStatus.SERVICE_UNAVAILABLE:
        # When to try again, as the API's 503s say.
        headers = {**(headers or {}), "Retry-After": str(RETRY_AFTER_S)}
    return Response(
        error_body(code, detail),
        status_code=status_code,
        media_type=MediaType.JSON,
        headers=headers,
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {Exception: error_response}
