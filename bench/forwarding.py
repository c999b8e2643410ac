"""Benchmark of the forwarder: forwards/s, enqueue-to-delivery latency, and a kill -9.

    .venv/bin/python bench/forwarding.py [--backlog 20000] [--rate 1000] [--duration 10]

Everything runs on 127.0.0.1, each in its own process: `clicktrail serve-forwarder`, and a
receiver (`python -m bench.receiver`) that counts event ids. With DATABASE_URL set, a database
of its own on that server (dropped at the end); without it, an embedded PostgreSQL in a
temporary folder. Forwards are written straight into the outbox (as ingestion's group commit
does, one multi-row INSERT per batch), for clicks seeded first, so the figures are the
forwarder's alone.

1. Backlog: `--backlog` forwards already due; one forwarder sends them all: forwards/s, and CPU
   per forward of the forwarder process, of its PostgreSQL backends, of the receiver, and of
   the machine (every process on it, other work included).
2. Steady rate: `--rate` forwards/s written for `--duration` s while the forwarder runs:
   enqueue-to-delivery latency (the outbox row's created_at to its first arrival).
3. kill -9: the same load; midway the forwarder gets SIGKILL and is started again. Every event
   id must arrive (none lost). An id may arrive twice only if the killed process sent it and
   died before recording the delivery (at least once: a source deduplicates on `{event_id}`):
   the receiver saw it before the successor started, and the database holds one delivered
   attempt for it. An id received again after a recorded delivery is doubled. The run exits 1
   on any loss or doubling (in any phase).
"""

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import aiohttp
import asyncpg
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from api.catalog.service import create_campaign
from api.forwarding.service import set_template
from api.workspaces.service import create_workspace
from bench.load import REPO, _engine, bench_database
from bench.machine import cpu_times, free_port, idle_share, process_seconds
from models.click_ids import new_click_id
from models.enums import ConversionStatus, ForwardMethod
from models.migrate import upgrade

CLICKS = 1_000
BATCH_EVERY_S = 0.05
# Short attempts, so that the claims of a killed forwarder lapse within the run (lease = 3 x
# timeout + 10 s).
TIMEOUT_S = 2.0
FORWARDER_APPLICATION = "clicktrail-forwarder"


@dataclass(frozen=True, slots=True)
class Seeded:
    workspace_id: int
    template_id: int
    source_id: int
    type_id: int
    clicks: list[tuple[object, str]]


class ReceiverProcess:
    """bench/receiver.py in a process of its own, asked for its counts over HTTP."""

    def __init__(self, port: int, process: asyncio.subprocess.Process) -> None:
        self.port = port
        self.process = process
        self._http = aiohttp.ClientSession()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def distinct(self) -> int:
        async with self._http.get(self.url("/_stats")) as answer:
            return int((await answer.json())["distinct"])

    async def arrivals(self) -> dict[str, tuple[int, float]]:
        """Each event id received so far: how many times, and when first (Unix time)."""
        async with self._http.get(self.url("/_arrivals")) as answer:
            found = await answer.json()
        return {i: (int(n), float(t)) for i, (n, t) in found.items()}

    async def wait_for(self, distinct: int, timeout_s: float) -> bool:
        """Until ``distinct`` event ids have arrived in all; False past the deadline."""
        deadline = time.monotonic() + timeout_s
        while await self.distinct() < distinct:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def close(self) -> None:
        await self._http.close()


@asynccontextmanager
async def receiver_process(log: Path) -> AsyncIterator[ReceiverProcess]:
    port = free_port()
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "bench.receiver", "--port", str(port)),
            cwd=REPO,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    receiver = ReceiverProcess(port, process)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                await receiver.distinct()
                break
            except aiohttp.ClientConnectionError:
                if time.monotonic() > deadline or process.returncode is not None:
                    raise SystemExit(f"the receiver did not start; see {log}") from None
                await asyncio.sleep(0.05)
        yield receiver
    finally:
        await receiver.close()
        if process.returncode is None:
            process.terminate()
            await process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--backlog", type=int, default=20_000, help="forwards in phase 1")
    parser.add_argument("--rate", type=int, default=1_000, help="forwards/s in phases 2 and 3")
    parser.add_argument("--duration", type=int, default=10, help="seconds of phases 2 and 3")
    args = parser.parse_args()
    idle = idle_share()
    print(f"CPU idle before the run: {idle:.0%}", flush=True)
    if idle < 0.8:
        print("warning: something else is using the CPU; the figures will be low", flush=True)
    work = Path(tempfile.mkdtemp(prefix="ct-fwd-", dir="/tmp"))
    with bench_database(work) as database:
        ok = asyncio.run(run(args, database.url, work))
    print("result: " + ("OK: nothing lost or doubled" if ok else "FAILED"), flush=True)
    sys.exit(0 if ok else 1)


async def run(args: argparse.Namespace, url: str, work: Path) -> bool:
    engine = _engine(url)
    try:
        await upgrade(engine)
        async with receiver_process(work / "receiver.log") as receiver:
            seeded = await seed(engine, receiver)
            dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            conn = await asyncpg.connect(dsn)
            try:
                return all(
                    [
                        await backlog_phase(args, url, work, conn, seeded, receiver),
                        await rate_phase(args, url, work, conn, seeded, receiver, kill=False),
                        await rate_phase(args, url, work, conn, seeded, receiver, kill=True),
                    ]
                )
            finally:
                await conn.close()
    finally:
        await engine.dispose()


async def seed(engine: AsyncEngine, receiver: ReceiverProcess) -> Seeded:
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        created = await create_workspace(session, name="Forwarding bench")
        workspace_id = created.workspace.id
        assert workspace_id is not None
        campaign = (
            await create_campaign(
                session,
                workspace_id=workspace_id,
                name="Bench",
                offer_url="https://offer.example/?c={clickid}",
                source_name="Bench source",
                payout=Decimal(2),
            )
        ).campaign
        assert campaign.traffic_source_id is not None
        type_id = await session.scalar(
            text("SELECT id FROM conversion_types WHERE workspace_id = :w AND name = 'conversion'"),
            {"w": workspace_id},
        )
        template = await set_template(
            session,
            workspace_id=workspace_id,
            traffic_source_id=campaign.traffic_source_id,
            conversion_type_id=type_id,
            url=receiver.url("/ok/pb?ev={event_id}&c={clickid}&ext={external_id}&p={payout}"),
            method=ForwardMethod.GET,
            statuses=[ConversionStatus.APPROVED],
            payout_override=None,
            payout_share=None,
            enabled=True,
        )
        clicks = [new_click_id(datetime.now(UTC)) for _ in range(CLICKS)]
        await session.execute(
            text(
                "INSERT INTO clicks (workspace_id, created_at, id, campaign_id, traffic_source_id,"
                " external_id, sub1) VALUES (:w, :t, :id, :c, :s, :ext, 'bench')"
            ),
            [
                {
                    "w": workspace_id,
                    "t": created_at,
                    "id": click_id,
                    "c": campaign.id,
                    "s": campaign.traffic_source_id,
                    "ext": f"src-{i}",
                }
                for i, (click_id, created_at) in enumerate(clicks)
            ],
        )
        await session.commit()
        return Seeded(
            workspace_id,
            template.id,
            campaign.traffic_source_id,
            type_id,
            [(created_at, click_id) for click_id, created_at in clicks],
        )


async def enqueue(conn: asyncpg.Connection, seeded: Seeded, count: int, offset: int) -> None:
    """``count`` due forwards in one statement, as a group commit of postbacks writes them."""
    picked = [seeded.clicks[(offset + i) % len(seeded.clicks)] for i in range(count)]
    await conn.execute(
        """
        INSERT INTO forwards (workspace_id, template_id, traffic_source_id, conversion_type_id,
            conversion_event_id, click_created_at, click_id, event_status, amount, txid,
            created_at, next_attempt_at)
        SELECT $1, $2, $3, $4, $7::bigint + n, t, c, 'approved', 2.5, '', clock_timestamp(),
            clock_timestamp()
        FROM unnest($5::timestamptz[], $6::text[]) WITH ORDINALITY AS u(t, c, n)
        """,
        seeded.workspace_id,
        seeded.template_id,
        seeded.source_id,
        seeded.type_id,
        [p[0] for p in picked],
        [p[1] for p in picked],
        offset,
    )


@asynccontextmanager
async def forwarder(url: str, log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        CLICKTRAIL_DATABASE_URL=url,
        CLICKTRAIL_FORWARD_ALLOW_LOOPBACK="true",
        CLICKTRAIL_FORWARD_TIMEOUT_S=str(TIMEOUT_S),
        # Several forwarders run at once: none serves metrics.
        CLICKTRAIL_FORWARDER_METRICS_PORT="0",
    )
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "clicktrail", "serve-forwarder", "--no-migrate"),
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await process.wait()


@dataclass(frozen=True, slots=True)
class Cpu:
    """CPU seconds so far: the forwarder process, its PostgreSQL backends, the receiver
    process, and the machine (all cores' busy time, other work included)."""

    forwarder: float
    backends: dict[int, float]
    receiver: float
    machine: float

    def per_forward(self, earlier: "Cpu", forwards: int) -> str:
        n = max(1, forwards)
        database = sum(t - earlier.backends.get(pid, 0.0) for pid, t in self.backends.items())
        return (
            f"CPU per forward: forwarder {(self.forwarder - earlier.forwarder) / n * 1e6:.0f} us,"
            f" its PostgreSQL backends {database / n * 1e6:.0f} us, receiver "
            f"{(self.receiver - earlier.receiver) / n * 1e6:.0f} us, machine "
            f"{(self.machine - earlier.machine) / n * 1e6:.0f} us"
        )


async def cpu(conn: asyncpg.Connection, forwarder_pid: int, receiver: ReceiverProcess) -> Cpu:
    pids = await conn.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name = $1",
        FORWARDER_APPLICATION,
    )
    forwarding = cpu_times(forwarder_pid)
    return Cpu(
        forwarding.service,
        {row["pid"]: process_seconds(row["pid"]) for row in pids},
        process_seconds(receiver.process.pid),
        forwarding.machine,
    )


async def _ids(conn: asyncpg.Connection, workspace_id: int, since_id: int) -> dict[str, float]:
    rows = await conn.fetch(
        "SELECT id, extract(epoch FROM created_at) AS t FROM forwards "
        "WHERE workspace_id = $1 AND id > $2",
        workspace_id,
        since_id,
    )
    return {str(r["id"]): float(r["t"]) for r in rows}


async def _last_id(conn: asyncpg.Connection, workspace_id: int) -> int:
    return int(
        await conn.fetchval(
            "SELECT coalesce(max(id), 0) FROM forwards WHERE workspace_id = $1", workspace_id
        )
    )


async def backlog_phase(
    args: argparse.Namespace,
    url: str,
    work: Path,
    conn: asyncpg.Connection,
    seeded: Seeded,
    receiver: ReceiverProcess,
) -> bool:
    since = await _last_id(conn, seeded.workspace_id)
    before = await receiver.distinct()
    for start in range(0, args.backlog, 1_000):
        await enqueue(conn, seeded, min(1_000, args.backlog - start), start)
    await conn.execute("ANALYZE forwards")
    expected = await _ids(conn, seeded.workspace_id, since)
    print(f"backlog: {len(expected)} forwards due; starting one forwarder ...", flush=True)
    async with forwarder(url, work / "forwarder.log") as process:
        started = time.monotonic()
        first = await receiver.wait_for(before + 1, 60)
        first_at = time.monotonic()
        # Its connections are open by now: their backends are counted from here.
        cpu_before = await cpu(conn, process.pid, receiver)
        done = await receiver.wait_for(before + len(expected), 300)
        elapsed = time.monotonic() - first_at
        cpu_after = await cpu(conn, process.pid, receiver)
    arrivals = await receiver.arrivals()
    delivered = sum(1 for i in expected if i in arrivals)
    twice = sum(1 for i in expected if arrivals.get(i, (0, 0.0))[0] > 1)
    print(
        f"backlog: {delivered} delivered in {elapsed:.2f} s after the first "
        f"({time.monotonic() - started:.2f} s with start-up): {delivered / elapsed:.0f} "
        f"forwards/s; {'all' if done and first else 'NOT all'} delivered, received twice "
        f"{twice}; {cpu_after.per_forward(cpu_before, delivered)}",
        flush=True,
    )
    return delivered == len(expected) and twice == 0


async def rate_phase(
    args: argparse.Namespace,
    url: str,
    work: Path,
    conn: asyncpg.Connection,
    seeded: Seeded,
    receiver: ReceiverProcess,
    *,
    kill: bool,
) -> bool:
    name = "kill -9" if kill else "steady"
    since = await _last_id(conn, seeded.workspace_id)
    before = await receiver.distinct()
    per_batch = max(1, round(args.rate * BATCH_EVERY_S))
    batches = round(args.duration / BATCH_EVERY_S)
    print(f"{name}: {per_batch * batches} forwards at {args.rate}/s for {args.duration} s ...")
    restarted_at = 0.0
    held = 0
    async with forwarder(url, work / "forwarder.log") as process:
        await asyncio.sleep(2.0)  # started and idle
        cpu_before = await cpu(conn, process.pid, receiver)
        began = time.monotonic()
        for n in range(batches):
            if kill and n == batches // 2:
                process.kill()
                await process.wait()
                held = await _held(conn, seeded.workspace_id)
                break
            await enqueue(conn, seeded, per_batch, n * per_batch)
            await asyncio.sleep(max(0.0, began + (n + 1) * BATCH_EVERY_S - time.monotonic()))
        if not kill:
            expected = await _ids(conn, seeded.workspace_id, since)
            done = await receiver.wait_for(before + len(expected), 60)
            cpu_after = await cpu(conn, process.pid, receiver)
    if kill:
        restarted_at = time.time()
        async with forwarder(url, work / "forwarder.log"):
            for n in range(batches // 2, batches):
                await enqueue(conn, seeded, per_batch, n * per_batch)
                await asyncio.sleep(max(0.0, began + (n + 1) * BATCH_EVERY_S - time.monotonic()))
            expected = await _ids(conn, seeded.workspace_id, since)
            # The killed process's claims lapse after their lease (3 x timeout + 10 s).
            done = await receiver.wait_for(before + len(expected), TIMEOUT_S * 3 + 10 + 60)
            # Until the last ones are recorded, to compare with what arrived.
            await _wait_settled(conn, seeded.workspace_id, since, 30)
    arrivals = await receiver.arrivals()
    lost = [i for i in expected if i not in arrivals]
    twice = [i for i in expected if arrivals.get(i, (0, 0.0))[0] > 1]
    recorded = await _recorded_deliveries(conn, seeded.workspace_id, twice)
    # Sent by the killed process and never recorded: received before its successor started
    # (a request the killed process sent may be read by the receiver just after the kill),
    # recorded once, by the successor that sent it again. Anything else received twice is
    # doubled.
    resent = [i for i in twice if arrivals[i][1] < restarted_at and recorded.get(i) == 1]
    doubled = [i for i in twice if i not in resent]
    latencies = sorted(arrivals[i][1] - t for i, t in expected.items() if i not in lost)
    line = f"{name}: {len(expected)} written, lost {len(lost)}, doubled {len(doubled)}"
    if kill:
        line += (
            f", killed holding {held} claims, {len(resent)} of them sent before the kill and "
            "sent again (recorded once)"
        )
    line += f"; {'all' if done else 'NOT all'} delivered"
    if latencies:
        q = statistics.quantiles(latencies, n=100)
        line += (
            f"; enqueue-to-delivery p50 {q[49] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms"
        )
    if not kill:
        line += f"; {cpu_after.per_forward(cpu_before, len(expected))}"
    print(line, flush=True)
    for i in doubled[:10]:
        print(
            f"  doubled: forward {i}, received {arrivals[i][0]} times, recorded {recorded.get(i)}"
        )
    return not lost and not doubled


async def _held(conn: asyncpg.Connection, workspace_id: int) -> int:
    """Forwards claimed and not settled: due again only when their lease lapses."""
    # A settle the killed process sent just before it died may still be committing.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = $1",
            FORWARDER_APPLICATION,
        ):
            break
        await asyncio.sleep(0.05)
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM forwards WHERE workspace_id = $1 AND state = 'pending' "
            "AND next_attempt_at > now() + interval '2 seconds'",
            workspace_id,
        )
    )


async def _wait_settled(
    conn: asyncpg.Connection, workspace_id: int, since_id: int, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not await conn.fetchval(
            "SELECT count(*) FROM forwards WHERE workspace_id = $1 AND id > $2 "
            "AND state <> 'delivered'",
            workspace_id,
            since_id,
        ):
            return
        await asyncio.sleep(0.1)


async def _recorded_deliveries(
    conn: asyncpg.Connection, workspace_id: int, ids: list[str]
) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT forward_id, count(*) AS n FROM forward_attempts WHERE workspace_id = $1 "
        "AND forward_id = ANY($2::bigint[]) AND status_code BETWEEN 200 AND 299 GROUP BY 1",
        workspace_id,
        [int(i) for i in ids],
    )
    return {str(r["forward_id"]): int(r["n"]) for r in rows}


if __name__ == "__main__":
    main()
