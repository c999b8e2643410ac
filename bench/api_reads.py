"""Read benchmark of the GraphQL API: a page of clicks and reports over a realistic workspace.

    PYTHONPATH=. .venv/bin/python bench/api_reads.py [--clicks 5000000] [--repeat 30] [--reload]

Everything runs on 127.0.0.1. The database, its load and the server are bench/api_setup.py's.

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
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from bench.api_setup import DEFAULT_SERVER, api_server, machine_line, prepare, warn_if_busy
from bench.dataset import TIMEZONE
from bench.load import report_server_log

WARMUPS = 3
REQUEST_TIMEOUT_S = 120.0
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


async def run(args: argparse.Namespace, server_url: str) -> list[str]:
    prepared = await prepare(server_url, clicks=args.clicks, reload=args.reload)
    url, marker, api_key = prepared.url, prepared.marker, prepared.api_key
    machine = await machine_line(url)
    print(machine, flush=True)
    warn_if_busy()
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


if __name__ == "__main__":
    main()
