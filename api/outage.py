"""The database cannot be reached: requests are answered 503, and the outage logged once.

A request during an outage fails where it first needs the database (the API key lookup), or
in a resolver when the database goes away mid-request. Either way the client is told to
retry (`DATABASE_UNAVAILABLE`, HTTP 503 with Retry-After), and the log gets the first failure
with its traceback, then at most a short line every `every_s` seconds while it lasts, then
one line when a statement succeeds again: not a traceback per request. What counts as an
outage is models.unavailable's to say, for both services.
"""

import logging
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class DatabaseUnavailableError(Exception):
    """The database could not be reached for a request; the cause says how."""


class DatabaseOutage:
    """Logs an outage once, then briefly at a bounded rate, then its end."""

    def __init__(
        self, *, every_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every_s = every_s
        self.clock = clock
        self.started: float | None = None
        self.refused = 0
        self.last_line = 0.0
        self.refused_since_line = 0

    def failed(self, error: BaseException) -> None:
        """A request was refused because the database could not be reached."""
        now = self.clock()
        self.refused += 1
        if self.started is None:
            self.started = self.last_line = now
            self.refused_since_line = 0
            logger.error(
                "the database is unavailable: GraphQL requests are answered 503 until it "
                "answers again",
                exc_info=error,
            )
            return
        self.refused_since_line += 1
        if now - self.last_line >= self.every_s:
            logger.warning(
                "the database is still unavailable after %.0f s: %d requests answered 503 in "
                "the last %.0f s (%s)",
                now - self.started,
                self.refused_since_line,
                now - self.last_line,
                _short(error),
            )
            self.last_line = now
            self.refused_since_line = 0

    def answered(self) -> None:
        """A statement succeeded; cheap when there is no outage (every request calls it)."""
        if self.started is None:
            return
        logger.warning(
            "the database answers again after %.0f s unavailable; %d requests were answered 503",
            self.clock() - self.started,
            self.refused,
        )
        self.started = None
        self.refused = 0


def _short(error: BaseException) -> str:
    while isinstance(error, DatabaseUnavailableError) and error.__cause__ is not None:
        error = error.__cause__
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200]}" if text else type(error).__name__
