"""Load benchmark of the ingestion service: tracking-link redirects, then S2S postbacks.

    .venv/bin/python bench/load.py [--connections 50] [--duration 10] [--workers 2] [--buffered]

Needs wrk (`apt-get install -y wrk`); everything runs on 127.0.0.1. With DATABASE_URL set, the
benchmark creates a database of its own on that server and drops it at the end; without it, an
embedded PostgreSQL runs in a temporary folder that is removed at the end.

It seeds one workspace and campaign, starts `clicktrail serve-ingestion` under granian, drives
`GET /c/bench` with wrk, then `GET /postback/<secret>` with a new transaction id per request, and
prints requests/s, latency percentiles, the database connections the service opened, and whether
every 302 and every 200 is a committed row, and the CPU each request took (the service's
workers, their PostgreSQL backends, the whole machine with wrk and the kernel): a figure that
carries across machines better than requests/s, and the first two hold on a shared machine.
Other load on the machine skews the rates: it says so when the CPU is busy before it starts.

It also prints each worker's memory (RSS) at the start and end of each phase and its peak so
far, and flags a worker over RSS_LIMIT_MB: a worker that keeps growing under load is a leak that
a long run (`--duration 300`) makes plain.
"""

import argparse
import asyncio
import contextlib
import os
import platform
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO

import asyncpg
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from api.catalog.service import create_campaign
from api.forwarding.service import set_template
from api.workspaces.service import create_workspace
from bench.machine import CpuTimes, cpu_times, free_port, idle_share
from models.database import create_engine, display_url
from models.embedded import start_embedded
from models.enums import ConversionStatus, CostModel, ForwardMethod
from models.migrate import upgrade
from models.settings import Settings

REPO = Path(__file__).resolve().parent.parent
CAMPAIGN_KEY = "bench"
OFFER_URL = "https://offer.example/land?cid={clickid}&s1={sub1}"
MAX_POSTBACK_CLICKS = 20_000
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
SETTLE_TIMEOUT_S = 10.0
# A worker starts at ~126 MB (Litestar, SQLAlchemy, asyncpg, ua-parser's regexes); one that
# passes this under a steady load is holding on to something per request.
RSS_LIMIT_MB = 150

# Counts responses per status in each wrk thread; done() sums the threads and prints
# "bench <name> <value>" lines, which are easier to parse than wrk's own report.
STATS_LUA = r"""
local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_id", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

statuses = {}
accepted = 0

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if body and string.find(body, '"result":"accepted"', 1, true) then
    accepted = accepted + 1
  end
end

function done(summary, latency, requests)
  local totals, accepted_total = {}, 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + count
    end
    accepted_total = accepted_total + thread:get("accepted")
  end
  local e = summary.errors
  local function put(name, value) io.write(string.format("bench %s %d\n", name, value)) end
  put("duration_us", summary.duration)
  put("requests", summary.requests)
  put("socket_errors", e.connect + e.read + e.write + e.timeout)
  put("timeouts", e.timeout)
  put("p50_us", latency:percentile(50))
  put("p90_us", latency:percentile(90))
  put("p99_us", latency:percentile(99))
  put("max_us", latency.max)
  put("accepted", accepted_total)
  for status, count in pairs(totals) do put("status_" .. status, count) end
end
"""

# Per request: the next click id of this thread (round robin) and a transaction id no other
# request uses, so every postback is a new `transaction` event rather than a duplicate.
POSTBACK_LUA = r"""
function init(args)
  ids = {}
  for line in io.lines(args[1]) do ids[#ids + 1] = line end
  prefix = "/postback/" .. args[2] .. "?type=transaction&sum=1.50&clickid="
  offset = thread_id * 1000
  sent = 0
end

function request()
  sent = sent + 1
  local click_id = ids[(offset + sent) % #ids + 1]
  local txid = string.format("%d", thread_id * 1000000000 + sent)
  return wrk.format("GET", prefix .. click_id .. "&txid=" .. txid)
end
"""


@dataclass(frozen=True, slots=True)
class Database:
    url: str
    kind: str  # "embedded" or "external"


@dataclass(frozen=True, slots=True)
class Server:
    base: str
    port: int
    pid: int


@dataclass(frozen=True, slots=True)
class Seeded:
    workspace_id: int
    campaign_id: int
    postback_secret: str


@dataclass(frozen=True, slots=True)
class WrkResult:
    duration_s: float
    requests: int
    socket_errors: int
    timeouts: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    accepted: int
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def count(self, status: int) -> int:
        return self.statuses.get(status, 0)

    def other_than(self, *expected: int) -> int:
        """Responses with any other status, plus requests that got no response at all."""
        unexpected = sum(n for status, n in self.statuses.items() if status not in expected)
        return unexpected + self.socket_errors


@dataclass(frozen=True, slots=True)
class WorkerMemory:
    """A worker process's resident memory now and at its peak so far (Linux /proc), in MB."""

    pid: int
    rss_mb: float
    peak_mb: float


@dataclass(frozen=True, slots=True)
class Phase:
    """One wrk run and what the database holds afterwards."""

    result: WrkResult
    # Rows written for this phase's requests, counted once the count stops growing.
    rows: int
    # Connections the service opened to the database during the run (pg_stat_database).
    connections: int
    # wrk's connections held by each worker halfway through: keep-alive pins them.
    split: list[int]
    log_rows: int = 0
    # CPU the run took, from its start to wrk's end.
    cpu: CpuTimes | None = None
    # Each worker's memory before wrk starts and once the phase's rows are counted.
    memory_start: list[WorkerMemory] = field(default_factory=list)
    memory_end: list[WorkerMemory] = field(default_factory=list)
    # Click units committed per group-commit batch, on average (from /metrics).
    batch: float | None = None


def main() -> None:
    args = _parser().parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("bench/load.py needs wrk: apt-get install -y wrk")
    idle = idle_share()
    print(f"CPU idle before the run: {idle:.0%}", flush=True)
    if idle < 0.8:
        print("warning: something else is using the CPU; the figures will be low", flush=True)
    work = Path(tempfile.mkdtemp(prefix="ct-load-", dir="/tmp"))
    log_path = work / "server.log"
    summary: list[str] = []
    try:
        with bench_database(work) as database, log_path.open("wb") as log:
            summary = asyncio.run(run(args, wrk, database, work, log, log_path))
    except KeyboardInterrupt:
        print("interrupted; stopped the service and removed the bench database", file=sys.stderr)
        sys.exit(130)
    finally:
        # Before the folder goes: on a failure the log is all there is to go on.
        if log_path.exists():
            report_server_log(log_path, failed=not summary)
        shutil.rmtree(work, ignore_errors=True)
    print("\n" + "\n".join(summary))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--connections", "-c", type=int, default=50, help="wrk connections")
    parser.add_argument("--duration", "-d", type=int, default=10, help="seconds per phase")
    parser.add_argument("--threads", "-t", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="granian worker processes")
    parser.add_argument(
        "--buffered", action="store_true", help="CLICKTRAIL_CLICK_DURABILITY=buffered"
    )
    parser.add_argument(
        "--forward",
        action="store_true",
        help="give the source a forward template for transactions: every postback also "
        "writes an outbox row (nothing sends them during the run)",
    )
    parser.add_argument("--verbose", action="store_true", help="print wrk's own reports too")
    return parser


async def run(
    args: argparse.Namespace,
    wrk: str,
    database: Database,
    work: Path,
    log: IO[bytes],
    log_path: Path,
) -> list[str]:
    """Migrate, seed, serve, load; return the summary lines."""
    mode = "buffered" if args.buffered else "durable"
    engine = _engine(database.url)
    try:
        await upgrade(engine)
        seeded = await seed(engine, forward=args.forward)
        # One connection for every count, in autocommit so each read sees fresh statistics.
        async with engine.connect() as probe:
            await probe.execution_options(isolation_level="AUTOCOMMIT")
            version = str(await probe.scalar(text("SHOW server_version"))).split()[0]
            print(f"database ready: PostgreSQL {version} ({database.kind}); seeded", flush=True)
            async with ingestion_server(database.url, args, mode, log, log_path) as server:
                clicks = await click_phase(wrk, server, args, probe, seeded, work)
                postbacks = await postback_phase(wrk, server, args, probe, seeded, work)
    finally:
        await engine.dispose()
    return _summary(args, mode, version, database, clicks, postbacks)


def _summary(
    args: argparse.Namespace,
    mode: str,
    version: str,
    database: Database,
    clicks: Phase,
    postbacks: Phase | None,
) -> list[str]:
    wrk_flags = f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s"
    redirects = clicks.result.count(302)
    lines = [
        f"machine: {os.cpu_count()} cores, {_ram()}, {platform.platform(terse=True)}, "
        f"Python {platform.python_version()}, PostgreSQL {version} ({database.kind})",
        f"click redirects: {_figures(clicks.result)}  non-302 {clicks.result.other_than(302)}  "
        f"({mode}, {args.workers} workers, {wrk_flags})  "
        f"rows committed {clicks.rows} / 302s {redirects}{_verdict(clicks.rows, redirects)}  "
        f"db connections opened {clicks.connections}  wrk connections per worker "
        f"{_split(clicks)}  {_cpu(clicks)}  {_batch(clicks)}",
        f"  worker RSS during clicks: {_memory(clicks)}",
    ]
    if postbacks is None:
        return [*lines, "postbacks:       skipped (no clicks to convert)"]
    ok = postbacks.result.count(200)
    return [
        *lines,
        f"postbacks:       {_figures(postbacks.result)}  non-2xx "
        f"{postbacks.result.other_than(200)}  rows committed {postbacks.rows} / 200s {ok} "
        f"(accepted {postbacks.result.accepted}){_verdict(postbacks.rows, ok)}  "
        f"postback_log rows {postbacks.log_rows}  db connections opened {postbacks.connections}"
        f"  wrk connections per worker {_split(postbacks)}  {_cpu(postbacks)}",
        f"  worker RSS during postbacks: {_memory(postbacks)}",
    ]


# --- database -------------------------------------------------------------------------------


@contextmanager
def bench_database(work: Path) -> Iterator[Database]:
    """A database nobody else uses, gone afterwards: on DATABASE_URL's server, or embedded."""
    server = os.environ.get("DATABASE_URL")
    if server:
        name = f"clicktrail_bench_{secrets.token_hex(4)}"
        asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
        try:
            yield Database(_with_database(server, name), "external")
        finally:
            asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return
    # Short path: the server's unix socket lives inside the folder (107-byte limit).
    with start_embedded(work / "db") as embedded:
        yield Database(embedded.url, "embedded")


async def _admin(server_url: str, statement: str) -> None:
    try:
        conn = await asyncpg.connect(_asyncpg_dsn(server_url))
    except (OSError, asyncpg.PostgresError) as exc:
        raise SystemExit(
            f"cannot connect to DATABASE_URL {display_url(server_url)}: {exc}"
        ) from exc
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _engine(url: str) -> AsyncEngine:
    return create_engine(
        url, Settings(database_url=url, _env_file=None), application_name="clicktrail-bench"
    )


async def seed(engine: AsyncEngine, *, forward: bool = False) -> Seeded:
    """A workspace with a CPC campaign `bench` that sends all its traffic to one offer; with
    ``forward``, its source has a forward template for transactions."""
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        created = await create_workspace(session, name="Bench")
        workspace_id = created.workspace.id
        assert workspace_id is not None
        campaign = (
            await create_campaign(
                session,
                workspace_id=workspace_id,
                name="Bench campaign",
                key=CAMPAIGN_KEY,
                offer_url=OFFER_URL,
                source_name="Bench source",
                cost_model=CostModel.CPC,
                cost_value=Decimal("0.05"),
                payout=Decimal(2),
            )
        ).campaign
        if forward:
            assert campaign.traffic_source_id is not None
            await set_template(
                session,
                workspace_id=workspace_id,
                traffic_source_id=campaign.traffic_source_id,
                conversion_type_id=await session.scalar(
                    text(
                        "SELECT id FROM conversion_types WHERE workspace_id = :w "
                        "AND name = 'transaction'"
                    ),
                    {"w": workspace_id},
                ),
                url="https://source.example/pb?c={external_id}&p={payout}&ev={event_id}",
                method=ForwardMethod.GET,
                statuses=[ConversionStatus.APPROVED],
                payout_override=None,
                payout_share=None,
                enabled=True,
            )
        await session.commit()
        assert campaign.id is not None
        return Seeded(workspace_id, campaign.id, created.postback_secret)


async def count(probe: AsyncConnection, sql: str, **params: object) -> int:
    return int(await probe.scalar(text(sql), params) or 0)


async def settled_count(probe: AsyncConnection, sql: str, **params: object) -> int:
    """The count once it stops growing: requests in flight at wrk's cut, buffered clicks."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    previous, current = -1, await count(probe, sql, **params)
    while current != previous and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        previous, current = current, await count(probe, sql, **params)
    return current


async def sessions(probe: AsyncConnection) -> int:
    """Connections ever opened to this database; the probe's own is already counted."""
    return await count(
        probe, "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
    )


async def backends(probe: AsyncConnection) -> list[int]:
    """The service's PostgreSQL backends: every one of the bench database but the probe's.
    PostgreSQL's own background processes (WAL writer, checkpointer) serve every database of
    the server, so on a machine shared with other work they cannot be told apart and are not
    counted."""
    pids = await probe.scalars(
        text(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    )
    return list(pids)


# --- the service ----------------------------------------------------------------------------


@asynccontextmanager
async def ingestion_server(
    url: str, args: argparse.Namespace, mode: str, log: IO[bytes], log_path: Path
) -> AsyncIterator[Server]:
    """`clicktrail serve-ingestion` in the background until the block ends."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        CLICKTRAIL_DATABASE_URL=url,
        CLICKTRAIL_WORKERS=str(args.workers),
        CLICKTRAIL_INGESTION_PORT=str(port),
        CLICKTRAIL_HOST="127.0.0.1",
        CLICKTRAIL_CLICK_DURABILITY=mode,
    )
    base = f"http://127.0.0.1:{port}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "clicktrail",
        "serve-ingestion",
        "--no-migrate",
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
        # Its own process group: a Ctrl+C here reaches it only through the SIGINT below.
        start_new_session=True,
    )
    try:
        await _wait_ready(base, process, log_path, args.workers)
        print(f"ingestion ready at {base} ({mode}, {args.workers} workers)", flush=True)
        yield Server(base, port, process.pid)
    finally:
        await _stop(process)


async def _wait_ready(
    base: str, process: asyncio.subprocess.Process, log_path: Path, workers: int
) -> None:
    """Until /health answers and granian has logged every worker as started.

    wrk opens all its connections at once and keep-alive pins each to the worker that accepted
    it: started while one worker is still booting, the whole run lands on the other.
    """
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise SystemExit(
                f"serve-ingestion exited with {process.returncode} before it was ready"
            )
        if await asyncio.to_thread(_ready, base, log_path, workers):
            return
        await asyncio.sleep(0.2)
    raise SystemExit(
        f"serve-ingestion did not answer /health, or granian did not log 'Started worker-' "
        f"{workers} times, within {READY_TIMEOUT_S:.0f} s"
    )


def _ready(base: str, log_path: Path, workers: int) -> bool:
    if log_path.read_text(errors="replace").count("Started worker-") < workers:
        return False
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=1) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
    except TimeoutError:
        print("serve-ingestion ignored SIGINT; killing its process group", file=sys.stderr)
        os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


def report_server_log(log_path: Path, *, failed: bool) -> None:
    """How many tracebacks the service logged, the first one in full; its tail on a failure."""
    lines = log_path.read_text(errors="replace").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
    errors = [line for line in lines if "ERROR" in line]
    print(f"server log: {len(lines)} lines, {len(starts)} tracebacks, {len(errors)} ERROR lines")
    if starts:
        first = starts[0]
        end = first + 1
        # A traceback ends with the first unindented line after its frames: the exception.
        while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end]):
            end += 1
        shown = lines[max(0, first - 3) : end + 1]
        print("first traceback:")
    elif failed:
        shown = lines[-30:]
        print("last lines:")
    else:
        shown = errors[:5]
    print("".join(f"  | {line}\n" for line in shown), end="")


# --- load -----------------------------------------------------------------------------------


async def run_wrk(
    wrk: str, args: argparse.Namespace, server: Server, path: str, script: Path, *script_args: str
) -> tuple[WrkResult, list[int]]:
    """wrk's figures, and how its connections were spread over the workers halfway through."""
    command = [
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        "-s",
        str(script),
        server.base + path,
    ]
    if script_args:
        command += ["--", *script_args]
    process = await asyncio.create_subprocess_exec(
        wrk, *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    split = asyncio.create_task(_split_midway(server, args.duration))
    try:
        stdout, stderr = await process.communicate()
    finally:
        split.cancel()
        # Interrupted (Ctrl+C): wrk would otherwise keep loading the server it is about to lose.
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = stdout.decode(errors="replace")
    if args.verbose:
        print(output.rstrip())
    if process.returncode != 0:
        raise SystemExit(f"wrk failed ({process.returncode}):\n{output}\n{stderr.decode()}")
    return _parse(output), split.result() if split.done() and not split.cancelled() else []


async def _split_midway(server: Server, duration: int) -> list[int]:
    await asyncio.sleep(duration / 2)
    return await asyncio.to_thread(connections_per_worker, server)


def connections_per_worker(server: Server) -> list[int]:
    """Established connections to the service's port held by each worker process (Linux)."""
    try:
        sockets = set()
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rpartition(":")[2], 16) == server.port:
                sockets.add(f"socket:[{fields[9]}]")
    except OSError:
        return []
    split = []
    for pid in worker_pids(server):
        held = 0
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    held += os.readlink(fd) in sockets
        split.append(held)
    return split


def worker_pids(server: Server) -> list[int]:
    """The service's worker processes: granian's children (Linux)."""
    try:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    except OSError:
        return []
    return [int(pid) for pid in children]


def worker_memory(server: Server) -> list[WorkerMemory]:
    """Each worker's RSS, as `ps -o rss` shows it (pages shared with granian's main process
    since the fork included), and its high-water mark."""
    memory = []
    for pid in worker_pids(server):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        kib = {
            name: int(value.split()[0])
            for name, _, value in (line.partition(":") for line in status.splitlines())
            if name in ("VmRSS", "VmHWM")
        }
        memory.append(WorkerMemory(pid, kib["VmRSS"] / 1024, kib["VmHWM"] / 1024))
    return memory


def click_batches(server: Server) -> tuple[float, float] | None:
    """Click units committed so far and the batches they took, from the service's /metrics
    (every worker's)."""
    try:
        with urllib.request.urlopen(f"{server.base}/metrics", timeout=5) as response:
            exposition = response.read().decode()
    except (OSError, urllib.error.URLError):
        return None
    values = {
        m[1]: float(m[2])
        for m in re.finditer(
            r'^clicktrail_group_commit_batch_size_(sum|count)\{queue="clicks"\} (\S+)$',
            exposition,
            re.M,
        )
    }
    if len(values) < 2:
        return None
    return values["sum"], values["count"]


def _mean_batch(
    before: tuple[float, float] | None, after: tuple[float, float] | None
) -> float | None:
    if before is None or after is None or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def _parse(output: str) -> WrkResult:
    values = {m[1]: int(m[2]) for m in re.finditer(r"^bench (\w+) (-?\d+)$", output, re.M)}
    if "requests" not in values:
        raise SystemExit(f"wrk printed no figures:\n{output}")
    return WrkResult(
        duration_s=values["duration_us"] / 1e6,
        requests=values["requests"],
        socket_errors=values["socket_errors"],
        timeouts=values["timeouts"],
        p50_ms=values["p50_us"] / 1000,
        p90_ms=values["p90_us"] / 1000,
        p99_ms=values["p99_us"] / 1000,
        max_ms=values["max_us"] / 1000,
        accepted=values["accepted"],
        statuses={
            int(name.removeprefix("status_")): n
            for name, n in values.items()
            if name.startswith("status_")
        },
    )


async def click_phase(
    wrk: str,
    server: Server,
    args: argparse.Namespace,
    probe: AsyncConnection,
    seeded: Seeded,
    work: Path,
) -> Phase:
    script = work / "clicks.lua"
    await asyncio.to_thread(script.write_text, STATS_LUA)
    print(f"clicks: wrk on /c/{CAMPAIGN_KEY} for {args.duration} s ...", flush=True)
    before = await sessions(probe)
    memory_start = worker_memory(server)
    batches_before = await asyncio.to_thread(click_batches, server)
    cpu_before = cpu_times(server.pid, await backends(probe))
    result, split = await run_wrk(wrk, args, server, f"/c/{CAMPAIGN_KEY}?sub1=abc&sub2=x", script)
    cpu = cpu_times(server.pid, await backends(probe)) - cpu_before
    batches = await asyncio.to_thread(click_batches, server)
    rows = await settled_count(
        probe,
        "SELECT count(*) FROM clicks WHERE workspace_id = :w AND campaign_id = :c",
        w=seeded.workspace_id,
        c=seeded.campaign_id,
    )
    phase = Phase(
        result,
        rows,
        await sessions(probe) - before,
        split,
        cpu=cpu,
        memory_start=memory_start,
        memory_end=worker_memory(server),
        batch=_mean_batch(batches_before, batches),
    )
    _print_phase("clicks", phase)
    return phase


async def postback_phase(
    wrk: str,
    server: Server,
    args: argparse.Namespace,
    probe: AsyncConnection,
    seeded: Seeded,
    work: Path,
) -> Phase | None:
    ids = (
        await probe.scalars(
            text("SELECT id FROM clicks WHERE workspace_id = :w AND campaign_id = :c LIMIT :n"),
            {"w": seeded.workspace_id, "c": seeded.campaign_id, "n": MAX_POSTBACK_CLICKS},
        )
    ).all()
    if not ids:
        return None
    # The clicks just went into a partition the planner has no statistics of yet; autovacuum
    # would analyze it within a minute, as it does in production, but the run is shorter.
    await probe.execute(text("ANALYZE clicks"))
    ids_file, script = work / "click_ids.txt", work / "postbacks.lua"
    await asyncio.to_thread(ids_file.write_text, "\n".join(ids) + "\n")
    await asyncio.to_thread(script.write_text, STATS_LUA + POSTBACK_LUA)
    print(f"postbacks: wrk on /postback/... over {len(ids)} clicks for {args.duration} s ...")
    before = await sessions(probe)
    memory_start = worker_memory(server)
    cpu_before = cpu_times(server.pid, await backends(probe))
    result, split = await run_wrk(
        wrk,
        args,
        server,
        f"/postback/{seeded.postback_secret}",
        script,
        str(ids_file),
        seeded.postback_secret,
    )
    cpu = cpu_times(server.pid, await backends(probe)) - cpu_before
    workspace = {"w": seeded.workspace_id}
    rows = await settled_count(
        probe, "SELECT count(*) FROM conversion_events WHERE workspace_id = :w", **workspace
    )
    log_rows = await count(
        probe, "SELECT count(*) FROM postback_log WHERE workspace_id = :w", **workspace
    )
    if args.forward:
        forwards = await count(
            probe, "SELECT count(*) FROM forwards WHERE workspace_id = :w", **workspace
        )
        print(f"postbacks: {forwards} forwards queued for {rows} events", flush=True)
    phase = Phase(
        result,
        rows,
        await sessions(probe) - before,
        split,
        log_rows,
        cpu,
        memory_start,
        worker_memory(server),
    )
    _print_phase("postbacks", phase)
    return phase


def _print_phase(name: str, phase: Phase) -> None:
    result = phase.result
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(result.statuses.items()))
    print(
        f"  {name}: {result.requests} responses in {result.duration_s:.2f} s ({statuses}); "
        f"socket errors {result.socket_errors} (timeouts {result.timeouts}); "
        f"p50 {result.p50_ms:.1f} ms, p90 {result.p90_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
        f"max {result.max_ms:.1f} ms; {phase.rows} rows; "
        f"{phase.connections} database connections opened; wrk connections per worker "
        f"{_split(phase)}; {_cpu(phase)}",
        flush=True,
    )
    print(f"  {name}: worker RSS {_memory(phase)}", flush=True)


# --- report ---------------------------------------------------------------------------------


def _figures(result: WrkResult) -> str:
    return f"{result.rate:.0f} req/s  p50 {result.p50_ms:.1f} ms  p99 {result.p99_ms:.1f} ms"


def _cpu(phase: Phase) -> str:
    if phase.cpu is None:
        return "CPU per request unknown"
    return phase.cpu.per_request_us(phase.result.requests)


def _batch(phase: Phase) -> str:
    if phase.batch is None:
        return "clicks per batch unknown"
    return f"{phase.batch:.1f} clicks per batch"


def _memory(phase: Phase) -> str:
    """`start -> end MB (peak P)` per worker, flagged past RSS_LIMIT_MB."""
    if not phase.memory_start or not phase.memory_end:
        return "unknown"
    start = {m.pid: m for m in phase.memory_start}
    parts = []
    for end in phase.memory_end:
        before = f"{start[end.pid].rss_mb:.0f}" if end.pid in start else "(new worker)"
        over = f" OVER {RSS_LIMIT_MB} MB" if end.peak_mb > RSS_LIMIT_MB else ""
        parts.append(f"{before} -> {end.rss_mb:.0f} MB (peak {end.peak_mb:.0f}){over}")
    return ", ".join(parts)


def _split(phase: Phase) -> str:
    return "/".join(str(n) for n in phase.split) or "unknown"


def _verdict(rows: int, acknowledged: int) -> str:
    if rows == acknowledged:
        return ""
    if rows > acknowledged:
        # wrk stops at the deadline without reading the answers still on their way.
        return f" (+{rows - acknowledged} rows: requests in flight at wrk's cut)"
    return f" (MISSING {acknowledged - rows} acknowledged rows)"


def _ram() -> str:
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{total / 2**30:.1f} GiB"


if __name__ == "__main__":
    main()
