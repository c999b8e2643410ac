"""`GET /health`, served by both apps: 200 when the database answers, 503 when it does not."""

import logging

from litestar import MediaType, Response, get
from litestar.datastructures import State
from sqlalchemy.exc import SQLAlchemyError

from models.database import ping
from models.failure_log import FailureLog

logger = logging.getLogger(__name__)
_FAILURES = "health_failures"


@get("/health", media_type=MediaType.JSON, cache=False, summary="Liveness and database check")
async def health(state: State) -> Response[dict[str, str]]:
    """Answers 200 `{"status": "ok"}` when a query round-trips to PostgreSQL, else 503."""
    try:
        await ping(state.engine)
    except (OSError, SQLAlchemyError) as error:
        _failures(state).failed(error)
        return Response({"status": "unavailable", "database": "unreachable"}, status_code=503)
    _failures(state).recovered()
    return Response({"status": "ok", "database": "ok"})


def _failures(state: State) -> FailureLog:
    """The app's log of failed probes. Probes come every few seconds from each load balancer:
    during an outage, one traceback, then a line now and then, then one when it is over."""
    failures: FailureLog | None = state.get(_FAILURES)
    if failures is None:
        failures = state[_FAILURES] = FailureLog(logger, "reach the database (health check)")
    return failures
