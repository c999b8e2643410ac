"""`clicktrail doctor`: checks an install and says what to fix; exits 1 when something is wrong.

Each check reads; none changes anything. A check that cannot run (no database, a schema behind
the code) stops the checks that need it.
"""

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncConnection

from models.database import DatabaseUnavailableError, check_database, create_engine, display_url
from models.diagnostics import (
    longest_attribution_window,
    max_connections,
    missing_partitions,
    oldest_raw_month,
    outbox,
    pending_rollup_rows,
)
from models.migrate import schema_revisions
from models.settings import Settings

# Past this many pending rollup rows compaction (every 2 s in each ingestion process) is not
# keeping up: at 10,000 clicks/s a few seconds' worth.
PENDING_ROLLUP_LIMIT = 100_000
# A due forward waits this long for a forwarder (which looks every forward_poll_ms) only when
# none is running or it is far behind.
FORWARD_OVERDUE_S = 300.0
# Processes holding a pool each: the ingestion and API workers, and one forwarder.
POOLED_SERVICES = 2
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class Verdict(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    verdict: Verdict
    message: str
    fix: str = ""


async def diagnose(settings: Settings, url: str) -> list[Finding]:
    """Every finding about the install whose database is at ``url``."""
    findings = list(_settings_findings(settings))
    try:
        version = await check_database(url)
    except DatabaseUnavailableError as error:
        return [
            Finding(
                "database",
                Verdict.FAIL,
                str(error),
                "start PostgreSQL, or point DATABASE_URL at a PostgreSQL 15+ that answers",
            ),
            *findings,
        ]
    first = Finding(
        "database",
        Verdict.OK,
        f"PostgreSQL {version // 10000}.{version % 10000} at {display_url(url)}",
    )
    engine = create_engine(url, settings, application_name="clicktrail-doctor")
    try:
        current, head = await schema_revisions(engine)
        schema = _schema_finding(current, head)
        if schema.verdict is not Verdict.OK:
            return [first, schema, *findings]
        async with engine.connect() as conn:
            database = [
                await _partitions_finding(conn, settings.partitions_ahead_months),
                await _retention_finding(conn, settings.raw_retention_days),
                await _rollups_finding(conn),
                *await _outbox_findings(conn),
                await _connections_finding(conn, settings),
            ]
    finally:
        await engine.dispose()
    return [first, schema, *database, *findings]


def _schema_finding(current: str | None, head: str) -> Finding:
    if current == head:
        return Finding("schema", Verdict.OK, f"at the code's head ({head})")
    if current is None:
        return Finding(
            "schema",
            Verdict.FAIL,
            "the database has no clicktrail schema",
            "run `clicktrail migrate` (the serve commands migrate too)",
        )
    return Finding(
        "schema",
        Verdict.FAIL,
        f"the database is at revision {current}, the code at {head}",
        "run `clicktrail migrate`; if the database is ahead of the code, upgrade clicktrail",
    )


async def _partitions_finding(conn: AsyncConnection, months_ahead: int) -> Finding:
    missing = await missing_partitions(conn, months_ahead=months_ahead)
    if not missing:
        return Finding("partitions", Verdict.OK, f"this month and {months_ahead} ahead exist")
    # Writes into this month or the next need theirs soon; later ones are slack running out.
    urgent = await missing_partitions(conn, months_ahead=1)
    return Finding(
        "partitions",
        Verdict.FAIL if urgent else Verdict.WARN,
        f"missing {', '.join(missing)}",
        "run `clicktrail migrate` (running services also create them every 6 hours)",
    )


async def _retention_finding(conn: AsyncConnection, days: int | None) -> Finding:
    oldest = await oldest_raw_month(conn)
    since = f"raw rows since {oldest:%Y-%m}" if oldest else "no raw partitions"
    if days is None:
        return Finding("retention", Verdict.OK, f"raw rows kept forever; {since}")
    kept = (
        f"raw clicks, events and postback log dropped by whole months once {days} days old; "
        f"{since} (reports over rollups keep older figures, reports of raw rows find none)"
    )
    window = await longest_attribution_window(conn)
    if window is None or window <= days:
        return Finding("retention", Verdict.OK, kept)
    return Finding(
        "retention",
        Verdict.WARN,
        f"{kept}; a campaign takes conversions up to {window} days after the click, but a "
        f"postback for a click older than {days} days may find it dropped (unknown_click)",
        f"raise CLICKTRAIL_RAW_RETENTION_DAYS to {window} or more, or shorten the campaigns' "
        "attribution windows",
    )


async def _rollups_finding(conn: AsyncConnection) -> Finding:
    pending = await pending_rollup_rows(conn)
    if pending <= PENDING_ROLLUP_LIMIT:
        return Finding("rollups", Verdict.OK, f"{pending:,} changes pending compaction")
    return Finding(
        "rollups",
        Verdict.FAIL,
        f"{pending:,} changes pending compaction (reports read them all until they are folded)",
        "start an ingestion service (it folds them every 2 s); if one runs, its log names the "
        "workspace whose rows cannot be folded",
    )


async def _outbox_findings(conn: AsyncConnection) -> list[Finding]:
    state = await outbox(conn, overdue_after_s=FORWARD_OVERDUE_S)
    findings = []
    if state.dead_last_day:
        findings.append(
            Finding(
                "forwards",
                Verdict.FAIL,
                f"{state.dead_last_day:,} forwards dead-lettered in the last day "
                f"({state.dead:,} dead in all)",
                "read their last errors (GraphQL `forwards(filter: {states: [DEAD]})`), fix the "
                "template or ask the source, then `replayForward` them",
            )
        )
    else:
        findings.append(
            Finding("forwards", Verdict.OK, f"none dead in the last day ({state.dead:,} in all)")
        )
    if state.overdue:
        findings.append(
            Finding(
                "forwarder",
                Verdict.FAIL,
                f"{state.overdue:,} forwards due for over {FORWARD_OVERDUE_S:.0f} s",
                "start `clicktrail serve-forwarder` (or `clicktrail serve`), or look at its log",
            )
        )
    return findings


async def _connections_finding(conn: AsyncConnection, settings: Settings) -> Finding:
    limit = await max_connections(conn)
    per_process = settings.pool_size + settings.pool_max_overflow
    wanted = per_process * (settings.workers * POOLED_SERVICES + 1)
    if wanted <= limit:
        return Finding(
            "connections", Verdict.OK, f"at most {wanted} of the server's {limit} at full load"
        )
    return Finding(
        "connections",
        Verdict.FAIL,
        f"at full load the services open up to {wanted} connections ({per_process} per process "
        f"x {settings.workers} workers x {POOLED_SERVICES} apps, and the forwarder's); the "
        f"server takes {limit}",
        "lower CLICKTRAIL_POOL_SIZE, CLICKTRAIL_POOL_MAX_OVERFLOW or CLICKTRAIL_WORKERS, or raise "
        "the server's max_connections (or put PgBouncer in front)",
    )


def _settings_findings(settings: Settings) -> Iterator[Finding]:
    """What pydantic's checks of each value cannot see: values that disagree or mislead."""
    fine = True
    if settings.pool_min_size > settings.pool_size:
        fine = False
        yield Finding(
            "settings",
            Verdict.WARN,
            f"CLICKTRAIL_POOL_MIN_SIZE={settings.pool_min_size} is above "
            f"CLICKTRAIL_POOL_SIZE={settings.pool_size}; only {settings.pool_size} are opened",
            "lower CLICKTRAIL_POOL_MIN_SIZE",
        )
    if settings.forward_backoff_base_s > settings.forward_backoff_max_s:
        fine = False
        yield Finding(
            "settings",
            Verdict.WARN,
            f"CLICKTRAIL_FORWARD_BACKOFF_BASE_S={settings.forward_backoff_base_s:g} is above "
            f"CLICKTRAIL_FORWARD_BACKOFF_MAX_S={settings.forward_backoff_max_s:g}: every retry "
            "waits the maximum",
            "lower the base or raise the maximum",
        )
    if settings.statement_timeout_ms == 0:
        fine = False
        yield Finding(
            "settings",
            Verdict.WARN,
            "CLICKTRAIL_STATEMENT_TIMEOUT_MS=0: a runaway statement holds its connection forever",
            "set a timeout (default 30000)",
        )
    if settings.database_url and not settings.public_url and settings.host in LOOPBACK_HOSTS:
        fine = False
        yield Finding(
            "settings",
            Verdict.WARN,
            f"postback and pixel templates name http://{settings.host}:"
            f"{settings.ingestion_port}, which no network or browser elsewhere reaches",
            "set CLICKTRAIL_PUBLIC_URL to the address ingestion is reached at",
        )
    if fine:
        yield Finding("settings", Verdict.OK, "no conflicting values")


def print_findings(findings: list[Finding], out: TextIO = sys.stdout) -> int:
    """Prints a line per finding (and what to fix); returns the exit code."""
    for finding in findings:
        print(f"{finding.verdict.value:<4}  {finding.check}: {finding.message}", file=out)
        if finding.fix:
            print(f"      fix: {finding.fix}", file=out)
    failed = sum(finding.verdict is Verdict.FAIL for finding in findings)
    warned = sum(finding.verdict is Verdict.WARN for finding in findings)
    if failed:
        print(f"{failed} problem(s), {warned} warning(s)", file=out)
        return 1
    print(f"no problems, {warned} warning(s)", file=out)
    return 0
