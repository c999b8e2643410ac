"""Read benchmark of the GraphQL API: a page of clicks and reports over a realistic workspace.

    PYTHONPATH=. .venv/bin/python bench/api_reads.py [--clicks 5000000] [--repeat 30] [--reload]

Everything runs on 127.0.0.1. The data lives in a database of its own, `clicktrail_bench_api`,
on DATABASE_URL's server (default postgresql://postgres@127.0.0.1:5432/postgres). It is kept
between runs because loading 5M clicks takes minutes: a marker (the database's comment) records
the size and seed loaded, and a run that asks for another size, or `--reload`, drops and rebuilds
it. A kept database is upgraded to the tree's schema on every run; the rollups are rebuilt from
the raw rows once after a load (a COPY writes no rollup changes); pending rollup changes are
folded in (the ingestion service does that every 2 s, and it does not run here).

The load: one workspace (Europe/Berlin), 8 traffic sources, 40 CPC campaigns with 1-3 offers,
`--clicks` clicks over the last 90 days (hour-of-day and weekday rhythm, skewed countries,
campaigns and subs, 3% bots, 80% unique), a tenth of them converting minutes to days later
(mostly approved) and a third of the converters with 1-3 transactions; COPYed in 10k-row
batches, then VACUUM ANALYZE. A fixed seed makes every load of a size alike (but the click ids,
see bench/dataset.py). The figures describe data loaded relative to the day of the load.

Then it starts `clicktrail serve-api` under granian, and for each case sends 3 warm-up requests
and `--repeat` timed ones, one at a time, and prints p50/p99 against the target with a line on
what the first answer held:

    page                       100 clicks before today with campaign, offer, source, events
    report_30d_day_campaign    last 30 local days by DAY x CAMPAIGN           (from a rollup)
    report_90d_country         last 90 local days by COUNTRY                  (from a rollup)
    report_raw_filtered        last 90 local days by DAY, filtered on sub1    (raw tables)

A case the server answers with errors (a tree without the `report` field, say) prints them and
the run goes on. Other load on the machine skews the figures: it says so when the CPU is busy.
"""

import argparse
import asyncio
import json
import math
import os
import platform
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from sqlalchemy import delete, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col

from api.workspaces.credentials import new_api_key
from bench.dataset import TIMEZONE, load
from bench.load import report_server_log
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
WARMUPS = 3
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 120.0
BENCH_KEY_NAME = "bench"
# About 6% of the clicks: a selective filter no rollup has the dimension for.
SUB1_VALUES = ["site0003", "site0017", "site0042"]

PAGE = """
query Page($filter: ClickFilter!) {
  clicks(filter: $filter, first: 100) {
    nodes {
      id createdAt country deviceType os browser subs cost
      campaign { name } offer { name } trafficSource { name }
      conversions { type txid status amount createdAt secondsFromClick }
      transactions { txid amount status }
    }
  }
}
"""
FIGURES = """
fragment Figures on ReportRow {
  clicks uniqueClicks botClicks conversions transactions revenue cost profit roi cr epc cpa
}
"""
REPORT = (
    FIGURES
    + """
query Report($filter: ClickFilter!) {
  report(filter: $filter, groupBy: [%s], timeBucket: %s, timezone: "%s") {
    rows { %s ...Figures }
    totals { ...Figures byType { type count revenue } }
    totalRows
    source
  }
}
"""
)

# The same report as arrays (Report.table), as a BI pull of many rows would ask for it.
TABLE = """
query Report($filter: ClickFilter!) {
  report(filter: $filter, groupBy: [%s], timeBucket: %s, timezone: "%s") {
    table { columns rows }
    totalRows
    source
  }
}
"""


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
class Case:
    name: str
    query: str
    variables: dict[str, Any]
    target_ms: float
    summarize: Callable[[dict[str, Any]], str]


@dataclass(frozen=True, slots=True)
class Timing:
    name: str
    target_ms: float
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    summary: str = ""
    error: str = ""

    def line(self) -> str:
        if self.error:
            return f"{self.name:<25} ERROR {self.error}"
        verdict = "ok" if self.p50_ms < self.target_ms else "OVER TARGET"
        return (
            f"{self.name:<25} p50 {self.p50_ms:8.1f} ms  p99 {self.p99_ms:8.1f} ms  "
            f"(target p50 < {self.target_ms:,.0f} ms: {verdict})  {self.summary}"
        )


def main() -> None:
    args = _parser().parse_args()
    server_url = os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    try:
        lines = asyncio.run(run(args, server_url))
    except KeyboardInterrupt:
        sys.exit("interrupted; the server is stopped (a partial load reloads next time)")
    print("\n" + "\n".join(lines))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--clicks", type=int, default=5_000_000, help="clicks to load")
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per case")
    parser.add_argument("--reload", action="store_true", help="drop and reload the data")
    parser.add_argument("--workers", type=int, default=1, help="granian worker processes")
    return parser


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


async def run(args: argparse.Namespace, server_url: str) -> list[str]:
    prepared = await prepare(server_url, clicks=args.clicks, reload=args.reload)
    url, marker, api_key = prepared.url, prepared.marker, prepared.api_key
    machine = await _machine(url)
    print(machine, flush=True)
    _warn_if_busy()
    timings = []
    with tempfile.TemporaryDirectory(prefix="ct-bench-api-") as work:
        log_path = Path(work) / "server.log"
        failed = True
        try:
            with log_path.open("wb") as log:
                async with api_server(url, args.workers, log) as base:
                    timings = await _time_cases(base, api_key, args.repeat)
            failed = False
        finally:
            report_server_log(log_path, failed=failed)
    return [
        machine,
        f"data: {marker.clicks:,} clicks, {marker.events:,} events, loaded {marker.loaded_at}; "
        f"{args.repeat} sequential requests per case after {WARMUPS} warm-ups, "
        f"{args.workers} granian worker(s)",
        *(timing.line() for timing in timings),
    ]


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
    _warn_if_busy()
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


async def _mint_api_key(engine: AsyncEngine, workspace_id: int) -> str:
    """A read key for this run (only hashes are stored), replacing the previous run's."""
    key = new_api_key()
    async with async_sessionmaker(engine)() as session:
        await session.execute(
            delete(ApiKey).where(
                col(ApiKey.workspace_id) == workspace_id, col(ApiKey.name) == BENCH_KEY_NAME
            )
        )
        session.add(ApiKeyHash(secret_hash=key.secret_hash, workspace_id=workspace_id))
        await session.flush()
        session.add(
            ApiKey(
                workspace_id=workspace_id,
                name=BENCH_KEY_NAME,
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


# --- the service ----------------------------------------------------------------------------


@asynccontextmanager
async def api_server(
    url: str, workers: int, log: IO[bytes], settings: dict[str, str] | None = None
) -> AsyncIterator[str]:
    """`clicktrail serve-api` in the background until the block ends; yields its base URL.

    ``settings``: more environment variables for it (CLICKTRAIL_...)."""
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
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "clicktrail",
        "serve-api",
        "--no-migrate",
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
        # Its own process group: a Ctrl+C here reaches it only through the SIGINT below.
        start_new_session=True,
    )
    try:
        await _wait_ready(base, process)
        print(f"api ready at {base} ({workers} worker(s))", flush=True)
        yield base
    finally:
        await _stop(process)


async def _wait_ready(base: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with httpx.AsyncClient(timeout=1) as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise SystemExit(f"serve-api exited with {process.returncode} before it was ready")
            try:
                if (await client.get(f"{base}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"serve-api did not answer /health within {READY_TIMEOUT_S:.0f} s")


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
    except TimeoutError:
        print("serve-api ignored SIGINT; killing its process group", file=sys.stderr)
        os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


# --- the cases ------------------------------------------------------------------------------


def cases(now: datetime) -> list[Case]:
    """The four cases, over whole local days ending with today (hour-aligned, as rollups are)."""
    zone = ZoneInfo(TIMEZONE)
    today = now.astimezone(zone).date()
    midnight = datetime.combine(today, clock(), tzinfo=zone)
    tomorrow = datetime.combine(today + timedelta(days=1), clock(), tzinfo=zone)

    def days(count: int) -> dict[str, str]:
        start = datetime.combine(today - timedelta(days=count - 1), clock(), tzinfo=zone)
        return {"createdFrom": start.isoformat(), "createdBefore": tomorrow.isoformat()}

    def report(group_by: str, bucket: str, row_fields: str) -> str:
        return REPORT % (group_by, bucket, TIMEZONE, row_fields)

    return [
        # Before today: the newest clicks have had no time to convert yet.
        Case("page", PAGE, {"filter": {"createdBefore": midnight.isoformat()}}, 30, _page_summary),
        Case(
            "report_30d_day_campaign",
            report("CAMPAIGN", "DAY", "bucket campaign { id name }"),
            {"filter": days(30)},
            50,
            _report_summary,
        ),
        Case(
            "report_30d_day_campaign_table",
            TABLE % ("CAMPAIGN", "DAY", TIMEZONE),
            {"filter": days(30)},
            50,
            _table_summary,
        ),
        Case(
            "report_90d_country",
            report("COUNTRY", "null", "country"),
            {"filter": days(90)},
            50,
            _report_summary,
        ),
        Case(
            "report_raw_filtered",
            report("", "DAY", "bucket"),
            {"filter": {**days(90), "subs": [{"index": 1, "values": SUB1_VALUES}]}},
            2000,
            _report_summary,
        ),
    ]


async def _time_cases(base: str, api_key: str, repeat: int) -> list[Timing]:
    headers = {"Authorization": f"Bearer {api_key}"}
    timings = []
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=REQUEST_TIMEOUT_S
    ) as client:
        for case in cases(datetime.now(UTC)):
            timing = await _time_case(client, case, repeat)
            print(timing.line(), flush=True)
            timings.append(timing)
    return timings


async def _time_case(client: httpx.AsyncClient, case: Case, repeat: int) -> Timing:
    body = {"query": case.query, "variables": case.variables}
    summary = ""
    samples = []
    for n in range(WARMUPS + repeat):
        started = time.perf_counter()
        response = await client.post("/graphql", json=body)
        elapsed_ms = (time.perf_counter() - started) * 1000
        error = _error(response)
        if error:
            return Timing(case.name, case.target_ms, error=error)
        if n == 0:
            summary = case.summarize(response.json()["data"])
        if n >= WARMUPS:
            samples.append(elapsed_ms)
    samples.sort()
    return Timing(
        case.name, case.target_ms, _percentile(samples, 50), _percentile(samples, 99), summary
    )


def _error(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    if response.status_code != 200 or payload.get("errors") or not payload.get("data"):
        messages = [e.get("message", "") for e in payload.get("errors") or []]
        return f"HTTP {response.status_code}: {'; '.join(messages) or response.text[:300]}"
    return ""


def _percentile(ordered: list[float], percent: float) -> float:
    """Nearest rank: with 30 samples p99 is the slowest one."""
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def _page_summary(data: dict[str, Any]) -> str:
    nodes = data["clicks"]["nodes"]
    converted = sum(1 for node in nodes if node["conversions"])
    transactions = sum(len(node["transactions"]) for node in nodes)
    newest = nodes[0]["createdAt"] if nodes else "-"
    return (
        f"[{len(nodes)} clicks, {converted} with conversions, {transactions} transactions, "
        f"newest {newest}]"
    )


def _table_summary(data: dict[str, Any]) -> str:
    report = data["report"]
    table = report["table"]
    return (
        f"[{len(table['rows'])} of {report['totalRows']} rows x {len(table['columns'])} "
        f"columns, source {report['source']}]"
    )


def _report_summary(data: dict[str, Any]) -> str:
    report = data["report"]
    totals = report["totals"]
    return (
        f"[{len(report['rows'])} of {report['totalRows']} rows, source {report['source']}; "
        f"totals {totals['clicks']:,} clicks, {totals['conversions']:,} conversions, "
        f"revenue {totals['revenue']}]"
    )


# --- the machine ----------------------------------------------------------------------------


async def _machine(url: str) -> str:
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


def _warn_if_busy() -> None:
    idle = idle_share()
    print(f"CPU idle: {idle:.0%}", flush=True)
    if idle < 0.8:
        print("warning: something else is using the CPU; the figures will be low", flush=True)


if __name__ == "__main__":
    main()
