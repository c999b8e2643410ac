"""The database cannot be reached: requests are answered 503, and the outage logged once.

A request during an outage fails where it first needs the database (the API key lookup), or
in a resolver when the database goes away mid-request. Either way the client is told to
retry (`DATABASE_UNAVAILABLE`, HTTP 503 with Retry-After), and the log gets the first failure
with its traceback, then at most a short line every `every_s` seconds while it lasts, then
one line when a statement succeeds again: not a traceback per request.
"""

import errno
import logging
import socket
import time
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

logger = logging.getLogger(__name__)

# SQLSTATE classes and codes of a server that is down, going down, starting or full:
# connection exceptions, insufficient resources, admin or crash shutdown, cannot connect now.
_UNAVAILABLE_CLASSES = ("08", "53")
_UNAVAILABLE_CODES = frozenset({"57P01", "57P02", "57P03"})
_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ETIMEDOUT,
        errno.ENETDOWN,
        errno.ENETUNREACH,
        errno.EHOSTDOWN,
        errno.EHOSTUNREACH,
    }
)


class DatabaseUnavailableError(Exception):
    """The database could not be reached for a request; the cause says how."""


def connection_lost(error: BaseException | None) -> bool:
    """Whether the error, or one it was raised from, says the database cannot be reached (as
    opposed to refusing a statement, which retrying does not fix)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, DatabaseUnavailableError | PoolTimeoutError):
            return True
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        # Refused, reset, timed out, unreachable, unresolvable: what a network connection
        # raises (other OSErrors, a file name too long say, are no outage).
        if isinstance(error, ConnectionError | TimeoutError | socket.gaierror) or (
            isinstance(error, OSError) and error.errno in _NETWORK_ERRNOS
        ):
            return True
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and (
            sqlstate.startswith(_UNAVAILABLE_CLASSES) or sqlstate in _UNAVAILABLE_CODES
        ):
            return True
        error = getattr(error, "orig", None) or error.__cause__
    return False


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
