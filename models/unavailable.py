"""Whether a database error is an outage (retry later) or a refusal (retrying will not help).

Both services answer an outage 503 and anything else the database raised as an error of their
own, never 503: a client told to retry a permanent failure retries it for ever.
"""

import errno
import socket

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# SQLSTATEs (PostgreSQL's errcodes.txt) of a server that is down, going down, starting, full or
# short of resources, or that ended the session: a new connection, later, gets through.
# Seconds a client should wait before retrying while the database is unavailable: the
# Retry-After of both services' 503s.
RETRY_AFTER_S = 5
_UNAVAILABLE_CLASS = "08"  # connection exception
# In that class, but a malformed message: the client's own bug, the same on every retry.
_PROTOCOL_VIOLATION = "08P01"
_UNAVAILABLE_CODES = frozenset(
    {
        "53000",  # insufficient_resources
        "53100",  # disk_full: nothing can be written until the operator frees space
        "53200",  # out_of_memory
        "53300",  # too_many_connections
        "57P01",  # admin_shutdown: a shutdown, or pg_terminate_backend
        "57P02",  # crash_shutdown: another backend crashed, the server restarts
        "57P03",  # cannot_connect_now: starting up, shutting down, in recovery
        "57P05",  # idle_session_timeout: the server ended an idle pooled connection
    }
)
# Not listed, so refusals: 3D000 (the database does not exist: dropped, or a wrong URL),
# 57P04 (database_dropped), 28xxx (authentication), 42501 (no CONNECT privilege), 57014
# (query_canceled: the statement timeout, the statement's own cost), 53400
# (configuration_limit_exceeded: temp_file_limit, say, which the same statement exceeds again).
#
# 55000 (object_not_in_prerequisite_state) is an outage only where the server refuses a new
# session because the database is closed to connections (`ALTER DATABASE ... ALLOW_CONNECTIONS
# false`, a maintenance window). Statements raise 55000 for reasons of their own (currval before
# nextval, an object in use, a prepared transaction's state), and so does connecting to an
# invalid database (a DROP DATABASE cut short): neither passes by waiting. The refusal is told
# by the routine that raises it, which the server sends untranslated, unlike the message (its
# text follows lc_messages); PostgreSQL 15 and 18 both raise it from CheckMyDatabase, and the
# invalid database from InitPostgres.
_CLOSED_DATABASE = ("55000", "CheckMyDatabase")

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


def connection_lost(error: BaseException | None) -> bool:
    """Whether the error, or one it was raised from, says the database cannot be reached (as
    opposed to refusing a statement, which retrying does not fix)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, PoolTimeoutError):
            return True
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        if _network_failure(error) or _closed_under_asyncpg(error):
            return True
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and (
            (sqlstate.startswith(_UNAVAILABLE_CLASS) and sqlstate != _PROTOCOL_VIOLATION)
            or sqlstate in _UNAVAILABLE_CODES
            or (sqlstate, getattr(error, "server_source_function", None)) == _CLOSED_DATABASE
        ):
            return True
        error = getattr(error, "orig", None) or error.__cause__
    return False


def _network_failure(error: BaseException) -> bool:
    """Refused, reset, timed out, unreachable, unresolvable: what a network connection raises
    (other OSErrors, a file name too long say, are no outage)."""
    if isinstance(error, ConnectionError | TimeoutError | socket.gaierror):
        return True
    if not isinstance(error, OSError):
        return False
    # A unix socket that is gone (the embedded server stopped) names no file; a missing file
    # does.
    return error.errno in _NETWORK_ERRNOS or (
        error.errno == errno.ENOENT and error.filename is None
    )


def _closed_under_asyncpg(error: BaseException) -> bool:
    """What asyncpg raises on a connection the server has just ended (the hot paths use it
    directly, so SQLAlchemy does not mark these invalidated): a statement sent between the
    server's FATAL and its hang-up (see models.database.DATABASE_ERRORS), or one on the
    connection after it (asyncpg's own text, which SQLAlchemy's disconnect test reads too)."""
    return isinstance(error, asyncpg.InternalClientError) or (
        isinstance(error, asyncpg.InterfaceError) and "connection is closed" in str(error)
    )
