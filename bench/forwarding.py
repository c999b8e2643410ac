"""Benchmark of the forwarder: forwards/s, enqueue-to-delivery latency, and a kill -9.

    .venv/bin/python bench/forwarding.py [--backlog 20000] [--rate 1000] [--duration 10]

Everything runs on 127.0.0.1: a receiver (bench/receiver.py, in this process) counts event ids;
`clicktrail serve-forwarder` runs as its own process. With DATABASE_URL set, a database of its
own on that server (dropped at the end); without it, an embedded PostgreSQL in a temporary
folder. Forwards are written straight into the outbox (as ingestion's group commit does, one
multi-row INSERT per batch), for clicks seeded first, so the figures are the forwarder's alone.

1. Backlog: `--backlog` forwards already due; one forwarder sends them all: forwards/s, and CPU
   per forward (the forwarder process, PostgreSQL, the machine with the receiver).
2. Steady rate: `--rate` forwards/s written for `--duration` s while the forwarder runs:
   enqueue-to-delivery latency (the outbox row's created_at to its first arrival).
3. kill -9: the same load; midway the forwarder is killed with SIGKILL and started again.
   Every event id must arrive (none lost); one that arrives twice was sent and not yet
   settled when the process died (at least once: the receiver deduplicates on the id).
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

import asyncpg
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from api.catalog.service import create_campaign
from api.forwarding.service import set_template
from api.workspaces.service import create_workspace
from bench.load import REPO, _engine, bench_database
from bench.machine import CpuTimes, cpu_times, idle_share
from bench.receiver import Receiver
from models.click_ids import new_click_id
from models.enums import ConversionStatus, ForwardMethod
from models.migrate import upgrade

CLICKS = 1_000
BATCH_EVERY_S = 0.05
# Short attempts, so that the claims of a killed forwarder lapse within the run (lease = 3 x
# timeout + 10 s).
TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Seeded:
    workspace_id: int
    template_id: int
    source_id: int
    type_id: int
    clicks: list[tuple[object, str]]


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
        asyncio.run(run(args, database.url, work))


async def run(args: argparse.Namespace, url: str, work: Path) -> None:
    engine = _engine(url)
    try:
        await upgrade(engine)
        async with Receiver(keep=False) as receiver:
            seeded = await seed(engine, receiver)
            dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            conn = await asyncpg.connect(dsn)
            try:
                await backlog_phase(args, url, work, conn, seeded, receiver)
                await rate_phase(args, url, work, conn, seeded, receiver, kill=False)
                await rate_phase(args, url, work, conn, seeded, receiver, kill=True)
            finally:
                await conn.close()
    finally:
        await engine.dispose()


async def seed(engine: AsyncEngine, receiver: Receiver) -> Seeded:
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


async def _wait_all(receiver: Receiver, ids: set[str], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not ids <= receiver.event_ids.keys():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


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
    receiver: Receiver,
) -> None:
    since = await _last_id(conn, seeded.workspace_id)
    for start in range(0, args.backlog, 1_000):
        await enqueue(conn, seeded, min(1_000, args.backlog - start), start)
    await conn.execute("ANALYZE forwards")
    expected = await _ids(conn, seeded.workspace_id, since)
    print(f"backlog: {len(expected)} forwards due; starting one forwarder ...", flush=True)
    async with forwarder(url, work / "forwarder.log") as process:
        cpu_before = cpu_times(process.pid)
        started = time.monotonic()
        first = await _wait_all(receiver, set(list(expected)[:1]), 60)
        first_at = time.monotonic()
        done = await _wait_all(receiver, set(expected), 300)
        elapsed = time.monotonic() - first_at
        cpu = cpu_times(process.pid) - cpu_before
    delivered = sum(1 for i in expected if i in receiver.event_ids)
    print(
        f"backlog: {delivered} delivered in {elapsed:.2f} s after the first "
        f"({time.monotonic() - started:.2f} s with start-up): {delivered / elapsed:.0f} "
        f"forwards/s; {'all' if done and first else 'NOT all'} delivered; "
        f"{_cpu(cpu, delivered)}",
        flush=True,
    )


async def rate_phase(
    args: argparse.Namespace,
    url: str,
    work: Path,
    conn: asyncpg.Connection,
    seeded: Seeded,
    receiver: Receiver,
    *,
    kill: bool,
) -> None:
    name = "kill -9" if kill else "steady"
    since = await _last_id(conn, seeded.workspace_id)
    per_batch = max(1, round(args.rate * BATCH_EVERY_S))
    batches = round(args.duration / BATCH_EVERY_S)
    print(f"{name}: {per_batch * batches} forwards at {args.rate}/s for {args.duration} s ...")
    async with forwarder(url, work / "forwarder.log") as process:
        await asyncio.sleep(2.0)  # started and idle
        cpu_before = cpu_times(process.pid)
        began = time.monotonic()
        for n in range(batches):
            if kill and n == batches // 2:
                process.kill()
                await process.wait()
                break
            await enqueue(conn, seeded, per_batch, n * per_batch)
            await asyncio.sleep(max(0.0, began + (n + 1) * BATCH_EVERY_S - time.monotonic()))
        if not kill:
            expected = await _ids(conn, seeded.workspace_id, since)
            done = await _wait_all(receiver, set(expected), 60)
            cpu = cpu_times(process.pid) - cpu_before
    if kill:
        async with forwarder(url, work / "forwarder.log"):
            for n in range(batches // 2, batches):
                await enqueue(conn, seeded, per_batch, n * per_batch)
                await asyncio.sleep(max(0.0, began + (n + 1) * BATCH_EVERY_S - time.monotonic()))
            expected = await _ids(conn, seeded.workspace_id, since)
            # The killed process's claims lapse after their lease (3 x timeout + 10 s).
            done = await _wait_all(receiver, set(expected), TIMEOUT_S * 3 + 10 + 60)
    lost = [i for i in expected if i not in receiver.event_ids]
    twice = [i for i in expected if receiver.event_ids[i] > 1]
    latencies = sorted(receiver.first_seen[i] - t for i, t in expected.items() if i not in lost)
    line = (
        f"{name}: {len(expected)} written, lost {len(lost)}, received twice {len(twice)}, "
        f"{'all' if done else 'NOT all'} delivered"
    )
    if latencies:
        q = statistics.quantiles(latencies, n=100)
        line += (
            f"; enqueue-to-delivery p50 {q[49] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms"
        )
    if not kill:
        line += f"; {_cpu(cpu, len(expected))}"
    print(line, flush=True)


def _cpu(cpu: CpuTimes, forwards: int) -> str:
    return (
        cpu.per_request_us(forwards)
        .replace("per request", "per forward")
        .replace("service", "forwarder")
    )


if __name__ == "__main__":
    main()
