"""CPU per request of the 1,000-row report (`rows` and `table`), servers side by side.

    PYTHONPATH=. .venv/bin/python bench/report_reads.py [--rounds 3] [--requests 20]
        [--before /tmp/ct-before]

On bench/api_setup.py's database (run bench/api_reads.py once to load it; this script loads
nothing and migrates nothing), one granian worker per server:

    compiled   this tree, CLICKTRAIL_API_COMPILED_READS=true (api/compiled/report.py)
    normal     this tree, CLICKTRAIL_API_COMPILED_READS=false (the GraphQL executor)
    before     with --before: another source tree (`git archive main | tar -x -C DIR`),
               run by this tree's interpreter

Rounds alternate the servers: each sends 3 warm-up requests and then ``--requests``
sequential ones per case, and the CPU its process tree used (Linux /proc) and the CPU of the
PostgreSQL backends serving its connections are divided by the requests. On a machine busy with
other work, wall-clock figures are meaningless; CPU per request is not. The servers' answers
are compared byte for byte (the `cost` extension aside, where trees may differ).
"""

import argparse
import asyncio
import os
import re
import sys
import tempfile
from collections import defaultdict
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from sqlalchemy import delete, make_url
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col

from bench.api_reads import REPORT, TABLE
from bench.api_setup import (
    DATABASE,
    DEFAULT_SERVER,
    _mint_api_key,
    _parse_marker,
    api_server,
    machine_line,
)
from bench.dataset import TIMEZONE
from bench.machine import process_seconds, process_tree
from models import ApiKey
from models.database import create_engine
from models.settings import Settings

KEY_NAME = "bench-report-reads"
WARMUPS = 3
_COST = re.compile(rb',?"extensions":\{"cost":\{[^}]*\}\}')


@dataclass
class Server:
    name: str
    base: str = ""
    pid: int = 0
    # case -> CPU ms per request, per round: (service, PostgreSQL).
    figures: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--before", type=Path, help="another source tree to compare with")
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    print("\n".join(asyncio.run(run(args, server_url))))


def cases(now: datetime) -> dict[str, dict[str, object]]:
    """bench/api_reads.py's 30-day report by day x campaign: `rows` (with and without the
    campaign's name) and `table`."""
    zone = ZoneInfo(TIMEZONE)
    today = now.astimezone(zone).date()
    start = datetime.combine(today - timedelta(days=29), clock(), tzinfo=zone)
    tomorrow = datetime.combine(today + timedelta(days=1), clock(), tzinfo=zone)
    days = {"createdFrom": start.isoformat(), "createdBefore": tomorrow.isoformat()}
    variables = {"filter": days}
    return {
        "rows": {"query": REPORT % ("CAMPAIGN", "DAY", TIMEZONE, "bucket"), "variables": variables},
        "rows+campaign": {
            "query": REPORT % ("CAMPAIGN", "DAY", TIMEZONE, "bucket campaign { id name }"),
            "variables": variables,
        },
        "table": {"query": TABLE % ("CAMPAIGN", "DAY", TIMEZONE), "variables": variables},
    }


async def run(args: argparse.Namespace, server_url: str) -> list[str]:
    url = make_url(server_url).set(database=DATABASE).render_as_string(hide_password=False)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        comment = await conn.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE datname = current_database()"
        )
    finally:
        await conn.close()
    marker = _parse_marker(comment)
    if marker is None or not marker.rollups:
        raise SystemExit(f"{DATABASE} is not loaded: run bench/api_reads.py once")
    engine = create_engine(
        url, Settings(database_url=url, _env_file=None), application_name="clicktrail-bench"
    )
    try:
        api_key = await _mint_api_key(engine, marker.workspace_id, KEY_NAME)
    finally:
        await engine.dispose()
    servers = [Server("compiled"), Server("normal")]
    settings = {
        "compiled": {"CLICKTRAIL_API_COMPILED_READS": "true"},
        "normal": {"CLICKTRAIL_API_COMPILED_READS": "false"},
        "before": {},
    }
    if args.before is not None:
        servers.append(Server("before"))
    documents = cases(datetime.now(UTC))
    machine = await machine_line(url)
    loads = []
    try:
        with tempfile.TemporaryDirectory(prefix="ct-bench-report-") as work:
            async with AsyncExitStack() as stack:
                for server in servers:
                    log = stack.enter_context((Path(work) / f"{server.name}.log").open("wb"))
                    tree = args.before if server.name == "before" else None

                    def started(pid: int, server: Server = server) -> None:
                        server.pid = pid

                    server.base = await stack.enter_async_context(
                        api_server(
                            url,
                            1,
                            log,
                            {**settings[server.name], "CLICKTRAIL_API_RATE_LIMIT_PER_MINUTE": "0"},
                            started=started,
                            **({"tree": tree} if tree is not None else {}),
                        )
                    )
                headers = {"Authorization": f"Bearer {api_key}"}
                async with httpx.AsyncClient(headers=headers, timeout=120) as client:
                    for round_ in range(args.rounds):
                        loads.append(os.getloadavg()[0])
                        for case, body in documents.items():
                            answers = {}
                            for server in servers if round_ % 2 == 0 else reversed(servers):
                                answers[server.name] = await _measure(
                                    client, server, case, body, args.requests, dsn
                                )
                            _check_same(case, answers)
                        print(f"round {round_ + 1}: {_summary(servers)}", flush=True)
    finally:
        await _forget_key(url)
    return [
        machine,
        f"data: {marker.clicks:,} clicks; {args.rounds} rounds x {args.requests} requests per "
        f"case and server, load average {min(loads):.1f}-{max(loads):.1f}",
        "CPU ms per request, service (PostgreSQL backends), min-max over rounds:",
        *(
            f"  {case:<14} "
            + "  ".join(f"{server.name} {_range(server.figures[case])}" for server in servers)
            for case in documents
        ),
    ]


async def _measure(
    client: httpx.AsyncClient,
    server: Server,
    case: str,
    body: dict[str, object],
    requests: int,
    dsn: str,
) -> bytes:
    first = b""
    for _ in range(WARMUPS):
        response = await client.post(f"{server.base}/graphql", json=body)
        if response.status_code != 200 or b'"errors"' in response.content:
            raise SystemExit(f"{server.name} {case}: {response.text[:500]}")
        first = response.content
    service = sum(process_seconds(pid) for pid in process_tree(server.pid))
    backends = await _backend_seconds(dsn, server.pid)
    for _ in range(requests):
        await client.post(f"{server.base}/graphql", json=body)
    service = sum(process_seconds(pid) for pid in process_tree(server.pid)) - service
    after = await _backend_seconds(dsn, server.pid)
    database = sum(seconds - backends.get(pid, 0.0) for pid, seconds in after.items())
    server.figures[case].append((service / requests * 1000, database / requests * 1000))
    return first


async def _backend_seconds(dsn: str, service_pid: int) -> dict[int, float]:
    """CPU seconds so far of the PostgreSQL backends serving the service's connections: the
    machine's other work (other helpers' servers on this database too) stays out."""
    ports = _client_ports(service_pid)
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[])", list(ports)
        )
    finally:
        await conn.close()
    return {row["pid"]: process_seconds(row["pid"]) for row in rows}


def _client_ports(service_pid: int) -> set[int]:
    """Local TCP ports of the sockets the service's processes hold (Linux /proc)."""
    inodes = set()
    for pid in process_tree(service_pid):
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rpartition(":")[2], 16))
    return ports


def _check_same(case: str, answers: dict[str, bytes]) -> None:
    stripped = {name: _COST.sub(b"", content) for name, content in answers.items()}
    if len(set(stripped.values())) != 1:
        sizes = {name: len(content) for name, content in stripped.items()}
        print(f"warning: {case}: the servers' answers differ {sizes}", file=sys.stderr)


def _range(figures: list[tuple[float, float]]) -> str:
    service = [s for s, _ in figures]
    database = [d for _, d in figures]
    return f"{min(service):.1f}-{max(service):.1f} ({min(database):.1f}-{max(database):.1f})"


def _summary(servers: list[Server]) -> str:
    return "; ".join(
        f"{server.name} "
        + ", ".join(f"{case} {figures[-1][0]:.1f}" for case, figures in server.figures.items())
        for server in servers
    )


async def _forget_key(url: str) -> None:
    engine = create_engine(
        url, Settings(database_url=url, _env_file=None), application_name="clicktrail-bench"
    )
    try:
        async with async_sessionmaker(engine)() as session:
            await session.execute(delete(ApiKey).where(col(ApiKey.name) == KEY_NAME))
            await session.commit()
    finally:
        await engine.dispose()


if __name__ == "__main__":
    main()
