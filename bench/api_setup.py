"""What the API benches share: their database and the servers they start.

The data lives in a database of its own, `clicktrail_bench_api`, on DATABASE_URL's server
(default postgresql://postgres@127.0.0.1:5432/postgres). It is kept between runs because
loading 5M clicks takes minutes: a marker (the database's comment) records the size and seed
loaded, and a run that asks for another size, or `--reload`, drops and rebuilds it. A kept
database is upgraded to the tree's schema on every run; the rollups are rebuilt from the raw
rows once after a load (a COPY writes no rollup changes); pending rollup changes are folded in
(the ingestion service does that every 2 s, and it does not run here).

The load: one workspace (Europe/Berlin), 8 traffic sources, 40 CPC campaigns with 1-3 offers,
`clicks` clicks over the last 90 days (hour-of-day and weekday rhythm, skewed countries,
campaigns and subs, 3% bots, 80% unique), a tenth of them converting minutes to days later
(mostly approved) and a third of the converters with 1-3 transactions; COPYed in 10k-row
batches, then VACUUM ANALYZE. A fixed seed makes every load of a size alike (but the click ids,
see bench/dataset.py). The figures describe data loaded relative to the day of the load.
"""

import asyncio
import json
import os
import platform
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import asyncpg
import httpx
from sqlalchemy import delete, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col

from api.workspaces.credentials import new_api_key
from bench.dataset import load
from bench.machine import free_port, idle_share
from models import ApiKey, ApiKeyHash
from models.database import create_engine, display_url
from models.enums import ApiScope
from models.migrate import upgrade
from models.rollups import (
    CLICKS_PENDING,
    EVENTS_PENDING,
    ROLLUPS,
    compact_rollups,
    rebuild_rollups,
)
from models.settings import Settings

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "clicktrail_bench_api"
SEED = 20261125
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
BENCH_KEY_NAME = "bench"


@dataclass(frozen=True, slots=True)
class Marker:
    """What the bench database holds; kept as its comment once a load has completed."""

    clicks: int
    seed: int
    events: int
    workspace_id: int
    loaded_at: str
    # The rollups hold the loaded rows (rebuilt after the load).
    rollups: bool


@dataclass(frozen=True, slots=True)
class Prepared:
    """The bench database, ready to be read."""

    url: str
    marker: Marker
    api_key: str


async def prepare(server_url: str, *, clicks: int, reload: bool) -> Prepared:
    """The bench database with ``clicks`` clicks (loaded unless already there), upgraded to
    the tree's schema, with its rollups folded and a fresh read key."""
    url = _with_database(server_url, DATABASE)
    marker = await _prepare_database(server_url, clicks=clicks, reload=reload)
    engine = create_engine(
        url, Settings(database_url=url, _env_file=None), application_name="clicktrail-bench"
    )
    try:
        await upgrade(engine)
        if marker is None:
            marker = await _load(url, engine, clicks)
        if not marker.rollups:
            marker = await _rebuild_rollups(url, engine, marker)
        await _fold_pending_rollups(url, engine)
        api_key = await _mint_api_key(engine, marker.workspace_id)
    finally:
        await engine.dispose()
    return Prepared(url, marker, api_key)


# --- database -------------------------------------------------------------------------------


async def _prepare_database(server_url: str, *, clicks: int, reload: bool) -> Marker | None:
    """The marker of a complete load of the asked size, or None once the database is empty."""
    try:
        admin = await asyncpg.connect(_asyncpg_dsn(server_url))
    except (OSError, asyncpg.PostgresError) as exc:
        raise SystemExit(f"cannot connect to {display_url(server_url)}: {exc}") from exc
    try:
        comment = await admin.fetchval(
            "SELECT coalesce(shobj_description(oid, 'pg_database'), '') "
            "FROM pg_database WHERE datname = $1",
            DATABASE,
        )
        marker = _parse_marker(comment)
        if not reload and marker is not None and (marker.clicks, marker.seed) == (clicks, SEED):
            print(f"{DATABASE}: {marker.clicks:,} clicks loaded {marker.loaded_at}", flush=True)
            return marker
        if comment is not None:
            reason = "--reload" if reload else f"it holds {_describe(marker)}"
            print(f"{DATABASE}: dropping it ({reason})", flush=True)
            await admin.execute(f'DROP DATABASE "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
        return None
    finally:
        await admin.close()


def _parse_marker(comment: str | None) -> Marker | None:
    if not comment:
        return None
    try:
        return Marker(**json.loads(comment))
    except (ValueError, TypeError):
        return None


def _describe(marker: Marker | None) -> str:
    if marker is None:
        return "no complete load"
    return f"{marker.clicks:,} clicks of seed {marker.seed}"


async def _write_marker(conn: asyncpg.Connection, marker: Marker) -> None:
    # COMMENT takes no parameters; the JSON is ours, its quotes are doubled all the same.
    literal = json.dumps(asdict(marker)).replace("'", "''")
    await conn.execute(f"COMMENT ON DATABASE \"{DATABASE}\" IS '{literal}'")


async def _load(url: str, engine: AsyncEngine, clicks: int) -> Marker:
    warn_if_busy()
    now = datetime.now(UTC)
    print(
        f"loading {clicks:,} clicks of the 90 days before {now:%Y-%m-%d %H:%M} UTC ...",
        flush=True,
    )
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        workspace, result = await load(engine, conn, clicks=clicks, seed=SEED, now=now)
        rows = result.clicks + result.events
        print(
            f"loaded {result.clicks:,} clicks and {result.events:,} events in "
            f"{result.seconds:.1f} s: {rows / result.seconds:,.0f} rows/s",
            flush=True,
        )
        started = time.perf_counter()
        # VACUUM too: autovacuum would otherwise visit the fresh tables during the timing, and
        # the visibility map it sets is what a settled production table has.
        await conn.execute("VACUUM ANALYZE")
        print(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s", flush=True)
        marker = Marker(
            clicks=result.clicks,
            seed=SEED,
            events=result.events,
            workspace_id=workspace.id,
            loaded_at=now.isoformat(timespec="seconds"),
            rollups=False,
        )
        await _write_marker(conn, marker)
    finally:
        await conn.close()
    return marker


async def _rebuild_rollups(url: str, engine: AsyncEngine, marker: Marker) -> Marker:
    """Count the loaded rows into the rollups: the load's COPY wrote no rollup changes."""
    print("rebuilding the rollups from the raw rows (once) ...", flush=True)
    started = time.perf_counter()
    async with engine.begin() as conn:
        await rebuild_rollups(conn, workspace_id=marker.workspace_id)
    marker = Marker(**{**asdict(marker), "rollups": True})
    admin = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await admin.execute("ANALYZE")
        await _write_marker(admin, marker)
    finally:
        await admin.close()
    print(f"rollups rebuilt in {time.perf_counter() - started:.1f} s", flush=True)
    return marker


async def _fold_pending_rollups(url: str, engine: AsyncEngine) -> None:
    """Fold pending rollup changes, as the ingestion service does every 2 s: reports of a live
    workspace read at most seconds of pending rows, not all."""
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL statement_timeout = 0"))
        changed = (await compact_rollups(conn)).changed
    if not changed:
        return
    admin = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        # The visibility map lets reports read the rollups from their covering indexes.
        await admin.execute(f"VACUUM ANALYZE {', '.join(_rollup_tables())}")
    finally:
        await admin.close()
    print(
        f"folded pending rollup rows ({changed:,} rollup rows changed) "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )


def _rollup_tables() -> list[str]:
    return [
        *(table for r in ROLLUPS for table in (r.clicks_table, r.events_table)),
        CLICKS_PENDING,
        EVENTS_PENDING,
    ]


async def _mint_api_key(engine: AsyncEngine, workspace_id: int, name: str = BENCH_KEY_NAME) -> str:
    """A read key for this run (only hashes are stored), replacing the previous run's."""
    key = new_api_key()
    async with async_sessionmaker(engine)() as session:
        await session.execute(
            delete(ApiKey).where(col(ApiKey.workspace_id) == workspace_id, col(ApiKey.name) == name)
        )
        session.add(ApiKeyHash(secret_hash=key.secret_hash, workspace_id=workspace_id))
        await session.flush()
        session.add(
            ApiKey(
                workspace_id=workspace_id,
                name=name,
                prefix=key.prefix,
                secret_hash=key.secret_hash,
                scopes=[ApiScope.READ.value],
            )
        )
        await session.commit()
    return key.plaintext


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# --- the servers ----------------------------------------------------------------------------


@asynccontextmanager
async def api_server(
    url: str,
    workers: int,
    log: IO[bytes],
    settings: dict[str, str] | None = None,
    *,
    tree: Path = REPO,
    started: Callable[[int], None] | None = None,
) -> AsyncIterator[str]:
    """`clicktrail serve-api` in the background until the block ends; yields its base URL.

    ``settings``: more environment variables for it (CLICKTRAIL_...); ``tree``: the source
    tree it runs (another checkout, to compare with); ``started`` is told its process id."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        CLICKTRAIL_DATABASE_URL=url,
        CLICKTRAIL_WORKERS=str(workers),
        CLICKTRAIL_API_PORT=str(port),
        CLICKTRAIL_HOST="127.0.0.1",
    )
    env.update(settings or {})
    base = f"http://127.0.0.1:{port}"
    async with background(
        "serve-api",
        [sys.executable, "-m", "clicktrail", "serve-api", "--no-migrate"],
        cwd=tree,
        env=env,
        log=log,
        ready=lambda client: client.get(f"{base}/health"),
        # granian stops its workers and the pool on SIGINT, as on a Ctrl+C.
        stop_signal=signal.SIGINT,
    ) as process:
        if started is not None:
            started(process.pid)
        print(f"api ready at {base} ({workers} worker(s))", flush=True)
        yield base


@asynccontextmanager
async def background(
    name: str,
    command: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    log: IO[bytes],
    ready: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]],
    stop_signal: signal.Signals,
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``command`` running in a process group of its own (a Ctrl+C here reaches it only
    through ``stop_signal``) from the moment ``ready`` answers 200 until the block ends."""
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        await _wait_ready(name, process, ready)
        yield process
    finally:
        await _stop(name, process, stop_signal)


async def _wait_ready(
    name: str,
    process: asyncio.subprocess.Process,
    ready: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]],
) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise SystemExit(f"{name} exited with {process.returncode} before it was ready")
            try:
                if (await ready(client)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"{name} did not answer within {READY_TIMEOUT_S:.0f} s")


async def _stop(
    name: str, process: asyncio.subprocess.Process, stop_signal: signal.Signals
) -> None:
    if process.returncode is None:
        process.send_signal(stop_signal)
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
    except TimeoutError:
        print(f"{name} ignored {stop_signal.name}; killing its process group", file=sys.stderr)
        os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


# --- the machine ----------------------------------------------------------------------------


async def machine_line(url: str) -> str:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        version = str(await conn.fetchval("SHOW server_version")).split()[0]
    finally:
        await conn.close()
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"machine: {os.cpu_count()} cores ({_cpu_model()}), {ram:.1f} GiB, "
        f"{platform.platform(terse=True)}, Python {platform.python_version()}, "
        f"PostgreSQL {version}"
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def warn_if_busy() -> None:
    idle = idle_share()
    print(f"CPU idle: {idle:.0%}", flush=True)
    if idle < 0.8:
        print("warning: something else is using the CPU; the figures will be low", flush=True)
