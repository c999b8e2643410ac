"""One error shape for every ingestion endpoint: {"error": code, "detail": message}."""

from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import ValidationException


class IngestionError(Exception):
    """An outcome a client must hear about: a stable machine code, a message and an HTTP status."""

    def __init__(self, code: str, detail: str, *, status_code: int = 400) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status_code = status_code


def ingestion_error_response(
    request: Request[Any, Any, Any], exc: IngestionError
) -> Response[dict[str, str]]:
    return Response(
        {"error": exc.code, "detail": exc.detail},
        status_code=exc.status_code,
        media_type=MediaType.JSON,
    )


def validation_error_response(
    request: Request[Any, Any, Any],
    exc: ValidationException,
) -> Response[dict[str, str]]:
    """Litestar's body validation errors in the same shape, with what was wrong."""
    problems = "; ".join(
        f"{item.get('key') or 'body'}: {item.get('message')}"
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    )
    return Response(
        {"error": "invalid_body", "detail": problems or exc.detail},
        status_code=400,
        media_type=MediaType.JSON,
    )


EXCEPTION_HANDLERS = {
    IngestionError: ingestion_error_response,
    ValidationException: validation_error_response,
}
