"""Fault run: a duplicate storm of postbacks while the ingestion service (and, if asked,
PostgreSQL) is killed with SIGKILL every few seconds; then a check, key by key, that every
acknowledged click and event is stored exactly once.

    .venv/bin/python bench/faults.py [--seconds 90] [--kill-every 5] [--kill-postgres]

Everything runs on 127.0.0.1. With DATABASE_URL set, the run creates a database of its own on
that server and drops it at the end; without it, an embedded PostgreSQL runs in a temporary
folder. `--kill-postgres` also kills PostgreSQL every `--postgres-every` seconds: the embedded
server, or the DATABASE_URL server when it runs on this machine (every database on it goes
down with it; Debian clusters come back with `pg_ctlcluster`, others need `--postgres-start`).

Clicks come through the tracking link (302) and `POST /clicks` (201); each acknowledged click
gets a conversion, transactions with their own txids and additions to an `add_amount` event,
each sent `--copies` times at once, by GET or by POST, and sent again after a refused or
broken connection, a timeout or a 5xx, as a network does, until it is answered. The exit
status is 1 when anything acknowledged is lost or stored twice, or when the service refused a
postback, answered anything but 200, 201, 302 or 503, or left a copy unanswered.
"""

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO
from urllib.parse import parse_qs, urlsplit

import httpx
import stamina
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from api.catalog.service import create_conversion_type
from bench.crashes import (
    CannotRecoverError,
    IngestionService,
    Postgres,
    embedded_postgres,
    local_postgres,
)
from bench.exactly_once import ClickRequest, Hit, Ledger, Verdict, read_stored, verdict
from bench.load import CAMPAIGN_KEY, Database, Seeded, bench_database, seed
from models.database import create_engine
from models.enums import DuplicatePolicy, HitOutcome
from models.migrate import upgrade
from models.settings import Settings

ADD_AMOUNT_TYPE = "upsell"
CONVERSION_AMOUNT = Decimal("2.50")
# Every tenth click is a POST /clicks of this many.
CLICK_BATCH = 5
CLICK_BATCH_EVERY = 10
REQUEST_TIMEOUT_S = 10.0
# The click maker pauses while this many postback copies wait to be sent.
MAX_QUEUED = 2_000
EXPECTED_STATUSES = frozenset({200, 201, 302, 503})


class UnavailableError(Exception):
    """A 5xx answer: nothing was stored, so the network sends the postback again."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass(slots=True)
class Traffic:
    """What went over the wire, for the summary."""

    click_attempts: int = 0
    copies: int = 0
    requests: int = 0
    retries: int = 0
    gave_up: int = 0
    # Copies not sent at all: the run's deadline passed while they waited.
    skipped: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    # When each 503 came (monotonic clock): how long the service takes to heal.
    unavailable_at: list[float] = field(default_factory=list)
    # Why requests failed (and, for postbacks, were sent again).
    failures: Counter[str] = field(default_factory=Counter)

    def retryable(self, exc: Exception) -> bool:
        kind = failure_kind(exc)
        if kind is None:
            return False
        self.failures[kind] += 1
        return True


def failure_kind(exc: BaseException) -> str | None:
    if isinstance(exc, UnavailableError):
        return f"answered {exc.status}"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused"
    if isinstance(exc, httpx.TransportError):
        return "connection broken"
    return None


@dataclass(frozen=True, slots=True)
class Copy:
    hit: Hit
    number: int


@dataclass(frozen=True, slots=True)
class Plan:
    """The hits each acknowledged click gets, and how often each is sent."""

    policies: dict[str, DuplicatePolicy]
    transactions: int
    additions: int
    copies: int

    def hits(self, click_id: str) -> list[Hit]:
        def hit(type_name: str, txid: str, amount: Decimal) -> Hit:
            return Hit(click_id, type_name, self.policies[type_name], txid, amount)

        return [
            hit("conversion", "", CONVERSION_AMOUNT),
            *(hit("transaction", f"T{i}", Decimal(10 + i)) for i in range(self.transactions)),
            *(hit(ADD_AMOUNT_TYPE, f"A{i}", Decimal(i + 1)) for i in range(self.additions)),
        ]

    def copies_of(self, click_id: str, rng: random.Random) -> list[Copy]:
        copies = [Copy(h, n) for h in self.hits(click_id) for n in range(self.copies)]
        rng.shuffle(copies)
        return copies


def main() -> None:
    args = _parser().parse_args()
    # stamina logs every retry by default: thousands of lines here.
    stamina.instrumentation.set_on_retry_hooks([])
    work = Path(tempfile.mkdtemp(prefix="ct-faults-", dir="/tmp"))
    log_path = work / "server.log"
    ok = False
    try:
        with bench_database(work) as database, log_path.open("wb") as log:
            ok = asyncio.run(run(args, database, work, log))
    except CannotRecoverError as exc:
        print(f"fault run aborted: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted; stopped the service and removed the database", file=sys.stderr)
        sys.exit(130)
    finally:
        if log_path.exists():
            _report_log(log_path)
            if args.log:
                shutil.copyfile(log_path, args.log)
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--seconds", type=float, default=90.0, help="length of the storm (kills stop after it)")
    add("--kill-every", type=float, default=5.0, help="seconds up between SIGKILLs; 0: never")
    add("--kill-postgres", action="store_true", help="SIGKILL PostgreSQL too")
    add("--postgres-every", type=float, default=20.0, help="seconds between PostgreSQL kills")
    add("--postgres-start", help="command that starts the DATABASE_URL server again")
    add("--workers", type=int, default=2, help="granian worker processes")
    add("--click-rate", type=float, default=10.0, help="clicks started per second")
    add("--transactions", type=int, default=2, help="transactions per click")
    add("--additions", type=int, default=2, help=f"{ADD_AMOUNT_TYPE} additions per click")
    add("--copies", type=int, default=4, help="copies of each postback sent at once")
    add("--concurrency", type=int, default=32, help="postbacks in flight at most")
    add("--grace", type=float, default=60.0, help="seconds after the storm to deliver the rest")
    add("--log", type=Path, help="keep the service's log (all its lives) in this file")
    add("--seed", type=int, default=None, help="random seed (kill times, order of copies)")
    return parser


async def run(args: argparse.Namespace, database: Database, work: Path, log: IO[bytes]) -> bool:
    """Seed, storm, check; print the summary and return whether the promise held."""
    engine = _engine(database.url)
    try:
        await upgrade(engine)
        seeded = await seed(engine)
        plan = await make_plan(
            engine,
            seeded.workspace_id,
            transactions=args.transactions,
            additions=args.additions,
            copies=args.copies,
        )
        async with engine.connect() as conn:
            version = str(await conn.scalar(text("SHOW server_version"))).split()[0]
    finally:
        await engine.dispose()
    postgres = await _postgres(args, database, work) if args.kill_postgres else None
    service = IngestionService(database.url, workers=args.workers, log=log)
    await service.start()
    try:
        print(
            f"PostgreSQL {version} ({database.kind}); ingestion at {service.base} with "
            f"{args.workers} workers; storm of {args.seconds:.0f} s",
            flush=True,
        )
        began = time.monotonic()
        ledger, traffic = await storm(args, service, postgres, seeded, plan)
        elapsed = time.monotonic() - began
        # A fresh engine: PostgreSQL may have been killed under the first one's connections.
        engine = _engine(database.url)
        try:
            async with engine.connect() as conn:
                stored = await read_stored(conn, seeded.workspace_id)
        finally:
            await engine.dispose()
    finally:
        await service.stop()
    result = verdict(ledger, stored)
    print(_summary(args, version, database, elapsed, service, postgres, ledger, traffic, result))
    unexpected = {s: n for s, n in traffic.statuses.items() if s not in EXPECTED_STATUSES}
    return result.ok and not unexpected and not traffic.gave_up


def _engine(url: str) -> AsyncEngine:
    return create_engine(
        url, Settings(database_url=url, _env_file=None), application_name="clicktrail-faults"
    )


async def make_plan(
    engine: AsyncEngine, workspace_id: int, *, transactions: int, additions: int, copies: int
) -> Plan:
    """Adds an add_amount type; the duplicate policies are read back from the workspace."""
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        await create_conversion_type(
            session,
            workspace_id=workspace_id,
            name=ADD_AMOUNT_TYPE,
            counts_as_conversion=False,
            counts_in_revenue=True,
            duplicate_policy=DuplicatePolicy.ADD_AMOUNT,
        )
        await session.commit()
        rows = await session.execute(
            text("SELECT name, duplicate_policy FROM conversion_types WHERE workspace_id = :w"),
            {"w": workspace_id},
        )
        policies = {name: DuplicatePolicy(policy) for name, policy in rows}
    return Plan(policies, transactions, additions, copies)


async def _postgres(args: argparse.Namespace, database: Database, work: Path) -> Postgres:
    if database.kind == "embedded":
        # bench_database keeps the embedded server in work/db/pg.
        return embedded_postgres((work / "db" / "pg").resolve(), database.url)
    return await local_postgres(database.url, args.postgres_start)


# --- the storm ------------------------------------------------------------------------------


async def storm(
    args: argparse.Namespace,
    service: IngestionService,
    postgres: Postgres | None,
    seeded: Seeded,
    plan: Plan,
) -> tuple[Ledger, Traffic]:
    """Clicks and postback copies for `--seconds` while the killers run; then, with everything
    up again, the copies still waiting, for at most `--grace` seconds."""
    ledger, traffic = Ledger(), Traffic()
    queue: asyncio.Queue[Copy] = asyncio.Queue()
    rng = random.Random(args.seed)
    storm_end = time.monotonic() + args.seconds
    give_up_at = storm_end + args.grace
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=args.concurrency + 16)
    async with httpx.AsyncClient(
        base_url=service.base, timeout=REQUEST_TIMEOUT_S, limits=limits
    ) as client:
        senders = [
            asyncio.create_task(
                _send_copies(client, queue, ledger, traffic, seeded.postback_secret, give_up_at)
            )
            for _ in range(args.concurrency)
        ]
        killers = []
        if args.kill_every > 0:
            killers.append(asyncio.create_task(_killing(service.kill, args.kill_every, stop, rng)))
        if postgres is not None:
            killers.append(
                asyncio.create_task(_killing(postgres.kill, args.postgres_every, stop, rng))
            )
        progress = asyncio.create_task(_progress(ledger, traffic, service, postgres, queue))
        try:
            await _make_clicks(
                client, plan, ledger, traffic, queue, rng, args.click_rate, storm_end
            )
            stop.set()
            # Each killer finishes the restart it is in: from here on everything is up.
            await asyncio.gather(*killers)
            print(f"storm over; everything up; {queue.qsize()} copies still to send", flush=True)
            await queue.join()
        finally:
            stop.set()
            for task in [*senders, *killers, progress]:
                task.cancel()
            await asyncio.gather(*senders, *killers, progress, return_exceptions=True)
    return ledger, traffic


async def _killing(
    kill: Callable[[], Awaitable[None]], every: float, stop: asyncio.Event, rng: random.Random
) -> None:
    """Kill (and restart) after `every` seconds of life, give or take half, until stopped."""
    while True:
        try:
            await asyncio.wait_for(stop.wait(), rng.uniform(0.5, 1.5) * every)
        except TimeoutError:
            await kill()
        else:
            return


async def _progress(
    ledger: Ledger,
    traffic: Traffic,
    service: IngestionService,
    postgres: Postgres | None,
    queue: "asyncio.Queue[Copy]",
) -> None:
    began = time.monotonic()
    while True:
        await asyncio.sleep(10)
        acknowledged = sum(a.acknowledged for a in ledger.hits.values())
        print(
            f"  {time.monotonic() - began:4.0f} s: {len(ledger.clicks)} clicks acknowledged, "
            f"{traffic.requests} postback requests, {acknowledged} hits acknowledged, "
            f"{queue.qsize()} copies queued; ingestion killed {service.kills} times"
            + (f", PostgreSQL {postgres.kills}" if postgres else ""),
            flush=True,
        )


async def _make_clicks(
    client: httpx.AsyncClient,
    plan: Plan,
    ledger: Ledger,
    traffic: Traffic,
    queue: "asyncio.Queue[Copy]",
    rng: random.Random,
    rate: float,
    until: float,
) -> None:
    """Clicks at `rate` per second; each acknowledged one queues its postback copies."""

    async def one(tag: str, api: bool) -> None:
        """One click request, not sent again: a visitor does not retry, and a `POST /clicks`
        sent again would be a new batch."""
        traffic.click_attempts += 1
        params = {"sub1": "api" if api else "link", "sub2": tag}
        clicks = CLICK_BATCH if api else 1
        try:
            if api:
                item = {"campaign_key": CAMPAIGN_KEY, "ip": "127.0.0.1", "params": params}
                response = await client.post("/clicks", json=[item] * clicks)
            else:
                response = await client.get(f"/c/{CAMPAIGN_KEY}", params=params)
        except httpx.TransportError as exc:
            traffic.failures[f"click {failure_kind(exc)}"] += 1
            ledger.clicked(tag, ClickRequest(api, clicks, None), [])
            return
        status = response.status_code
        traffic.statuses[status] += 1
        ids: list[str] = []
        if status == 201:
            ids = [str(c["click_id"]) for c in response.json()]
        elif status == 302:
            ids = parse_qs(urlsplit(response.headers["location"]).query)["cid"]
        else:
            traffic.failures[f"click answered {status}"] += 1
        ledger.clicked(tag, ClickRequest(api, clicks, status), ids)
        for click_id in ids:
            for copy in plan.copies_of(click_id, rng):
                queue.put_nowait(copy)

    tasks: set[asyncio.Task[None]] = set()
    made = 0
    while time.monotonic() < until:
        if queue.qsize() < MAX_QUEUED:
            made += 1
            task = asyncio.create_task(one(f"r{made}", api=made % CLICK_BATCH_EVERY == 0))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.sleep(1 / rate)
    await asyncio.gather(*tasks)


async def _send_copies(
    client: httpx.AsyncClient,
    queue: "asyncio.Queue[Copy]",
    ledger: Ledger,
    traffic: Traffic,
    secret: str,
    give_up_at: float,
) -> None:
    while True:
        copy = await queue.get()
        try:
            await send(client, secret, copy, ledger, traffic, give_up_at=give_up_at)
        finally:
            queue.task_done()


async def send(
    client: httpx.AsyncClient,
    secret: str,
    copy: Copy,
    ledger: Ledger,
    traffic: Traffic,
    *,
    give_up_at: float,
) -> None:
    """One copy of a postback, sent until it is answered: odd copies by POST, even by GET."""
    budget = give_up_at - time.monotonic()
    if budget <= 0:
        traffic.skipped += 1
        return
    traffic.copies += 1
    hit, path, params = copy.hit, f"/postback/{secret}", copy.hit.params()
    ledger.sent(hit)
    try:
        async for attempt in stamina.retry_context(
            on=traffic.retryable,
            attempts=None,
            timeout=budget,
            wait_initial=0.05,
            wait_max=1.0,
            wait_jitter=0.2,
        ):
            with attempt:
                traffic.requests += 1
                traffic.retries += attempt.num > 1
                if copy.number % 2:
                    response = await client.post(path, data=params)
                else:
                    response = await client.get(path, params=params)
                traffic.statuses[response.status_code] += 1
                if response.status_code == 503:
                    traffic.unavailable_at.append(time.monotonic())
                if response.status_code >= 500:
                    raise UnavailableError(response.status_code)
    except (httpx.TransportError, UnavailableError):
        traffic.gave_up += 1
        return
    body = response.json()
    if response.status_code == 200:
        ledger.answer(hit, HitOutcome(body["result"]), int(body["event_id"]))
    else:
        ledger.refused(hit, response.status_code, str(body.get("error")))


# --- the summary ----------------------------------------------------------------------------


def _summary(
    args: argparse.Namespace,
    version: str,
    database: Database,
    elapsed: float,
    service: IngestionService,
    postgres: Postgres | None,
    ledger: Ledger,
    traffic: Traffic,
    result: Verdict,
) -> str:
    answers: Counter[HitOutcome] = Counter()
    for a in ledger.hits.values():
        answers.update(a.results)
    acknowledged = sum(n for r, n in answers.items() if r is not HitOutcome.REJECTED)
    unexpected = {s: n for s, n in sorted(traffic.statuses.items()) if s not in EXPECTED_STATUSES}
    failures = ", ".join(f"{kind} {n}" for kind, n in traffic.failures.most_common())
    kills = (
        f"ingestion {service.kills} times (down {service.down_s:.0f} s in all"
        f"{f', {service.failed_starts} failed starts' if service.failed_starts else ''})"
    )
    if postgres is not None:
        kills += (
            f", PostgreSQL {postgres.kills} times (down {postgres.down_s:.0f} s in all; "
            f"503s at most {_healing_s(postgres, traffic):.1f} s after it was back)"
        )
    hits_per_click = 1 + args.transactions + args.additions
    lines = [
        f"fault run: {elapsed:.0f} s (storm {args.seconds:.0f} s), PostgreSQL {version} "
        f"({database.kind}), {args.workers} granian workers, durable clicks",
        f"SIGKILLs:  {kills}",
        f"clicks:    {traffic.click_attempts} requests, {result.clicks_acknowledged} click ids "
        f"acknowledged, {result.clicks_stored} stored ({result.clicks_unanswered} of them for "
        f"requests without an answer), lost {len(result.lost_clicks)}, batches stored in part "
        f"or despite a 503 {len(result.partial_clicks)}",
        f"postbacks: {hits_per_click} per click x {args.copies} copies: {traffic.copies} copies, "
        f"{traffic.requests} requests ({traffic.retries} retries), {acknowledged} acknowledged "
        f"(accepted {answers[HitOutcome.ACCEPTED]}, updated {answers[HitOutcome.UPDATED]}, "
        f"duplicate {answers[HitOutcome.DUPLICATE]}), gave up {traffic.gave_up}, "
        f"not sent {traffic.skipped}",
        f"failures:  {failures or 'none'}; unexpected statuses: {unexpected or 'none'}",
        f"events:    keys sent {result.keys_sent}, acknowledged {result.keys_acknowledged}, "
        f"stored {result.events_stored} ("
        + ", ".join(f"{t} {n}" for t, n in sorted(result.stored_by_type.items()))
        + f"), {result.accepted_unanswered} of them by a request whose answer was lost; "
        f"lost {len(result.lost)}, doubled {len(result.doubled)}, "
        f"never sent {len(result.phantom)}, refused {len(result.refused)}, "
        f"postback log mismatches {len(result.log)}",
    ]
    for kind, problems in result.failures.items():
        lines.append(f"{kind}: {len(problems)}")
        lines += [f"  {line}" for line in problems[:10]]
    ok = result.ok and not unexpected and not traffic.gave_up
    lines.append(
        "result:    OK: every acknowledged click and event is stored exactly once"
        if ok
        else "result:    FAILED"
    )
    return "\n".join(lines)


def _healing_s(postgres: Postgres, traffic: Traffic) -> float:
    """The longest the service answered postbacks 503 after PostgreSQL accepted connections
    again, before it was killed again: the service's pool must heal on its own."""
    ends = [killed for killed, _ in postgres.outages[1:]] + [float("inf")]
    worst = 0.0
    for (_, back), next_kill in zip(postgres.outages, ends, strict=True):
        late = [t - back for t in traffic.unavailable_at if back <= t < next_kill]
        worst = max([worst, *late])
    return worst


def _report_log(path: Path) -> None:
    """The service's ERROR lines by message: with its database killed, it should log only
    that postbacks and clicks could not be recorded (and answer 503)."""
    messages: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        # "ERROR - 2026-12-05 10:06:26,293 - ingestion.postbacks.writer - writer - message"
        parts = line.split(" - ", 4)
        if len(parts) == 5 and parts[0] in ("WARNING", "ERROR", "CRITICAL"):
            messages[f"{parts[0]} {parts[2]}: {parts[4]}"] += 1
    print(f"service log: {sum(messages.values())} warnings and errors")
    for message, n in messages.most_common(8):
        print(f"  {n:6d} x {message[:140]}")


if __name__ == "__main__":
    main()
