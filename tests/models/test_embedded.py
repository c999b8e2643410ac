"""The embedded server runs while a process uses it, whoever started it and however they end."""

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest

from models.embedded import start_embedded
from models.postmaster import WATCHDOG_FILE, postmaster, stop_postmaster


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Short path: the server's unix socket lives inside it (107-byte limit).
    folder = Path(tempfile.mkdtemp(prefix="ct-", dir="/tmp"))
    try:
        yield folder
    finally:
        stop_postmaster(folder / "pg")  # after a failed test, at least
        shutil.rmtree(folder, ignore_errors=True)


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def eventually(check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def answers(url: str) -> bool:
    async def ask() -> bool:
        conn = await asyncpg.connect(url)
        try:
            return bool(await conn.fetchval("SELECT true"))
        finally:
            await conn.close()

    return asyncio.run(ask())


def test_the_last_user_to_leave_stops_the_server(data_dir: Path):
    first = start_embedded(data_dir)
    second = start_embedded(data_dir)
    process = postmaster(data_dir / "pg")
    assert process is not None
    first.close()
    assert answers(second.url)
    second.close()
    assert not running(process.pid)


def test_a_server_whose_user_and_watchdog_were_killed_is_adopted_then_stopped(data_dir: Path):
    user = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from models.embedded import start_embedded; "
            "start_embedded(Path(sys.argv[1])); print('up', flush=True); sys.stdin.read()",
            str(data_dir),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert user.stdout is not None
    assert user.stdout.readline() == "up\n"
    watchdog_pid = data_dir / WATCHDOG_FILE
    eventually(lambda: watchdog_pid.read_text() != "")
    # No handler runs: only the next start can clean up.
    os.kill(int(watchdog_pid.read_text()), signal.SIGKILL)
    user.kill()
    user.wait()
    orphan = postmaster(data_dir / "pg")
    assert orphan is not None, "the server outlives both"

    with start_embedded(data_dir) as server:
        adopted = postmaster(data_dir / "pg")
        assert adopted is not None
        assert adopted.pid == orphan.pid
        assert answers(server.url)
    assert not running(orphan.pid)
