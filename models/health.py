"""`GET /health`, served by both apps: 200 when the database answers, 503 when it does not."""

import logging

from litestar import MediaType, Response, get
from litestar.datastructures import State
from sqlalchemy.exc import SQLAlchemyError

from models.database import ping

logger = logging.getLogger(__name__)


@get("/health", media_type=MediaType.JSON, cache=False, summary="Liveness and database check")
async def health(state: State) -> Response[dict[str, str]]:
    """Answers 200 `{"status": "ok"}` when a query round-trips to PostgreSQL, else 503."""
    try:
        await ping(state.engine)
    except (OSError, SQLAlchemyError):
        logger.exception("health check: database unreachable")
        return Response({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return Response({"status": "ok", "database": "ok"})
