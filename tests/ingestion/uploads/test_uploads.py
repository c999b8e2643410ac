"""Uploaded conversion files, applied through the postback rules: real files, real database."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.catalog.service import create_campaign
from api.workspaces.service import create_workspace
from ingestion.uploads import repository as uploads_repository
from ingestion.uploads import service
from ingestion.uploads.repository import LOCK_CLASS
from ingestion.uploads.service import UploadWorker, process_job
from models import CurrencyRate, live
from models.database import driver_connection
from models.enums import CostModel
from models.upload_files import read_upload
from models.upload_jobs import JobProgress, job_progress, store_upload
from tests.ingestion.conftest import TrackedCampaign, count, insert_click
from tests.models.test_rollups import assert_rollups_match_raw_tables

NOW = datetime.now(UTC).replace(microsecond=0)


async def _store(engine: AsyncEngine, workspace_id: int, path: Path) -> JobProgress:
    data = path.read_bytes()  # noqa: ASYNC240 (a small file of the test's own)
    async with driver_connection(engine) as conn, conn.transaction():
        return await store_upload(
            conn,
            workspace_id=workspace_id,
            filename=path.name,
            upload=read_upload(data),
        )


async def _upload(engine: AsyncEngine, workspace_id: int, path: Path) -> JobProgress:
    """Store the file and apply it, as `clicktrail upload-conversions` does."""
    job = await _store(engine, workspace_id, path)
    assert await process_job(
        engine, workspace_id=workspace_id, job_id=job.id, received_at=job.created_at
    )
    async with driver_connection(engine) as conn:
        done = await job_progress(conn, workspace_id=workspace_id, job_id=job.id)
    assert done is not None
    return done


async def _results(session: AsyncSession, job_id: int) -> dict[int, tuple[str, str]]:
    rows = await session.execute(
        text("SELECT line, outcome, reason FROM upload_results WHERE job_id = :j ORDER BY line"),
        {"j": job_id},
    )
    return {line: (outcome, reason) for line, outcome, reason in rows}


@pytest.fixture
async def other_click(session: AsyncSession, engine: AsyncEngine) -> str:
    """A click of another workspace."""
    other = await create_workspace(session, name="Rival", timezone="UTC")
    assert other.workspace.id is not None
    created = await create_campaign(
        session,
        workspace_id=other.workspace.id,
        name="Theirs",
        key="theirs",
        offer_url="https://rival.example/?c={clickid}",
        source_name=None,
        source_click_id_param=None,
        cost_model=CostModel.NONE,
        cost_value=Decimal(0),
        payout=None,
    )
    await session.commit()
    assert created.campaign.id is not None
    assert created.offer.id is not None
    theirs = TrackedCampaign(
        workspace=other,
        workspace_id=other.workspace.id,
        campaign_id=created.campaign.id,
        offer_id=created.offer.id,
        source_id=0,
        key="theirs",
        secret=other.postback_secret,
    )
    return await insert_click(session, engine, theirs, NOW - timedelta(hours=1))


async def test_a_file_with_bad_rows_reports_each_by_line_and_applies_the_rest(
    tmp_path: Path,
    session: AsyncSession,
    engine: AsyncEngine,
    campaign: TrackedCampaign,
    other_click: str,
):
    ws = campaign.workspace_id
    session.add(
        CurrencyRate(
            workspace_id=ws,
            currency="JPY",
            valid_from=NOW - timedelta(days=9),
            rate=Decimal("0.0065"),
        )
    )
    session.add(
        CurrencyRate(
            workspace_id=ws,
            currency="KWD",
            valid_from=NOW - timedelta(days=9),
            rate=Decimal("3.25"),
        )
    )
    await session.commit()
    a = await insert_click(session, engine, campaign, NOW - timedelta(days=2))
    b = await insert_click(session, engine, campaign, NOW - timedelta(days=2))
    old = await insert_click(session, engine, campaign, NOW - timedelta(days=40))
    when = (NOW - timedelta(days=1)).isoformat()
    file = tmp_path / "network-export.csv"
    file.write_bytes(
        "\ufeffsubid,type,txid,payout,currency,status,conversion_time\r\n".encode()
        + f"{a},,,12.50,,pending,{when}\r\n".encode()  # 2 accepted
        + f"{a},,,12.50,,,{when}\r\n".encode()  # 3 duplicate: a conversion is one per click
        + f"{b},transaction,T-1,1000000,JPY,,{when}\r\n".encode()  # 4 accepted, 6,500 USD
        + f"{b},transaction,T-2,999999999999,KWD,,{when}\r\n".encode()  # 5: over 1e12 USD
        + f"{b},transaction,T-3,1e3,,,{when}\r\n".encode()  # 6
        + f"{other_click},,,1,,,\r\n".encode()  # 7 another workspace's click
        + f"{old},,,1,,,{when}\r\n".encode()  # 8 the conversion time is 39 days after the click
        + f"{b},,,1,,,{(NOW - timedelta(days=3)).isoformat()}\r\n".encode()  # 9 before the click
        + f"{b},,,1,,,yesterday\r\n".encode()  # 10
        + f"{b},level9,,1,,,\r\n".encode()  # 11
        + f"{a},,,1,,approved,\r\n".encode()  # 12 pending -> approved
        + f"{a},,,1,,pending,\r\n".encode()  # 13 approved -> pending is not allowed
        + b"x\x00y,,,1,,,\r\n"  # 14
        + b"bad\xff,,,1,,,\r\n"  # 15
        + f"{b},,,1,,,,,,,,,,,\r\n".encode()  # 16 more values than columns
        + f'{b},"broken\r\n'.encode()  # 17
        + b"\r\n"  # 18, blank: skipped
        + f"{b},,,1,,,".encode()
        + b"x" * 20_000
        + b"\r\n"  # 19
        + f"{b},,,3.25,EUR,,\r\n".encode()  # 20 no EUR rate
    )
    job = await _upload(engine, ws, file)
    assert (job.filename, job.format, job.total_rows, job.processed_rows) == (
        "network-export.csv",
        "csv",
        18,
        18,
    )
    assert job.finished
    results = await _results(session, job.id)
    assert results == {
        2: ("accepted", "accepted"),
        3: ("duplicate", "duplicate"),
        4: ("accepted", "accepted"),
        5: ("rejected", "bad_amount"),
        6: ("rejected", "bad_amount"),
        7: ("rejected", "unknown_click"),
        8: ("rejected", "outside_window"),
        9: ("rejected", "bad_time"),
        10: ("rejected", "bad_time"),
        11: ("rejected", "unknown_type"),
        12: ("updated", "updated"),
        13: ("rejected", "illegal_status_change"),
        14: ("rejected", "bad_parameters"),
        15: ("rejected", "bad_parameters"),
        16: ("rejected", "bad_row"),
        17: ("rejected", "bad_row"),
        19: ("rejected", "line_too_long"),
        20: ("rejected", "unknown_currency"),
    }
    assert (job.accepted, job.updated, job.duplicate, job.rejected) == (2, 1, 1, 14)
    events = (
        await session.execute(
            text(
                "SELECT click_id, txid, status, amount, original_amount, original_currency, "
                "created_at FROM conversion_events ORDER BY txid"
            )
        )
    ).all()
    conversion_at = datetime.fromisoformat(when)
    assert [tuple(e) for e in events] == [
        (a, "", "approved", Decimal("12.500000"), Decimal("12.500000"), "USD", conversion_at),
        (
            b,
            "T-1",
            "approved",
            Decimal("6500.000000"),
            Decimal("1000000.000000"),
            "JPY",
            conversion_at,
        ),
    ]
    # Every row, refused ones too, is in the postback log as an upload hit, with its reason.
    log = (
        await session.execute(
            text("SELECT reason, count(*) FROM postback_log WHERE kind = 'upload' GROUP BY 1")
        )
    ).all()
    reasons: dict[str, int] = dict(log)
    assert sum(reasons.values()) == 18
    assert reasons["bad_row"] == 2
    # The rollups saw the events as they see a postback's: they match the raw rows.
    await assert_rollups_match_raw_tables(session)


async def test_the_same_file_again_stores_nothing_and_the_same_rows_again_are_duplicates(
    tmp_path: Path, session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    ws = campaign.workspace_id
    clicks = [
        await insert_click(session, engine, campaign, NOW - timedelta(hours=3)) for _ in range(3)
    ]
    csv_file = tmp_path / "a.csv"
    csv_file.write_text(
        "clickid,sum,txid,type\n"
        + "".join(f"{c},5,T{i},transaction\n" for i, c in enumerate(clicks))
    )
    first = await _upload(engine, ws, csv_file)
    assert first.accepted == 3
    tables = ("conversion_events", "postback_log", "upload_jobs", "upload_rows")

    async def counts() -> list[int]:
        return [await count(session, f"SELECT count(*) FROM {t}") for t in tables]

    before = await counts()
    again = await _store(engine, ws, csv_file)
    assert (again.id, again.created, again.finished) == (first.id, False, True)
    assert await counts() == before
    # The same rows in another file: a new job, whose rows are all duplicates.
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(
        "".join(
            f'{{"clickid": "{c}", "sum": 5, "txid": "T{i}", "type": "transaction"}}\n'
            for i, c in enumerate(clicks)
        )
    )
    second = await _upload(engine, ws, jsonl)
    assert (second.id != first.id, second.format, second.duplicate) == (True, "jsonl", 3)
    assert await count(session, "SELECT count(*) FROM conversion_events") == 3


async def test_a_job_left_half_done_is_resumed_and_applies_each_row_once(
    tmp_path: Path,
    session: AsyncSession,
    engine: AsyncEngine,
    campaign: TrackedCampaign,
    monkeypatch: pytest.MonkeyPatch,
):
    ws = campaign.workspace_id
    clicks = [
        await insert_click(session, engine, campaign, NOW - timedelta(hours=3)) for _ in range(7)
    ]
    file = tmp_path / "adds.csv"
    # add_amount would add twice if a row were applied twice.
    file.write_text("clickid,type,sum\n" + "".join(f"{c},transaction,1\n" for c in clicks))
    monkeypatch.setattr(service, "CHUNK_ROWS", 3)
    job = await _store(engine, ws, file)

    class ProcessDied(Exception):
        pass

    def die(rows: int) -> None:
        raise ProcessDied

    with pytest.raises(ProcessDied):
        await process_job(
            engine, workspace_id=ws, job_id=job.id, received_at=job.created_at, on_chunk=die
        )
    assert await count(session, "SELECT count(*) FROM upload_results") == 3
    assert await count(session, "SELECT count(*) FROM upload_queue") == 1
    # A worker (as a restarted ingestion process runs one) finds the job and finishes it.
    await UploadWorker(engine).run_queued()
    async with driver_connection(engine) as conn:
        done = await job_progress(conn, workspace_id=ws, job_id=job.id)
    assert done is not None
    assert done.finished
    assert (done.processed_rows, done.accepted) == (7, 7)
    assert await count(session, "SELECT count(*) FROM conversion_events") == 7
    assert await count(session, "SELECT count(*) FROM postback_log WHERE kind = 'upload'") == 7
    assert await count(session, "SELECT count(*) FROM upload_queue") == 0


async def test_a_job_held_by_a_live_session_waits_and_is_free_once_that_session_dies(
    tmp_path: Path,
    session: AsyncSession,
    engine: AsyncEngine,
    campaign: TrackedCampaign,
    database_url: str,
):
    ws = campaign.workspace_id
    click = await insert_click(session, engine, campaign, NOW - timedelta(hours=3))
    file = tmp_path / "one.csv"
    file.write_text(f"clickid,sum\n{click},2\n")
    job = await _store(engine, ws, file)
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    holder = await asyncpg.connect(dsn)
    assert await holder.fetchval(
        "SELECT pg_try_advisory_lock($1, hashint8($2))", LOCK_CLASS, job.id
    )
    assert not await process_job(engine, workspace_id=ws, job_id=job.id, received_at=job.created_at)
    holder.terminate()  # the worker's process dies: the server drops its session and its lock
    deadline = time.monotonic() + 10
    while not await process_job(engine, workspace_id=ws, job_id=job.id, received_at=job.created_at):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert await count(session, "SELECT count(*) FROM conversion_events") == 1


async def test_the_ingestion_service_applies_queued_jobs_in_the_background(
    tmp_path: Path,
    session: AsyncSession,
    engine: AsyncEngine,
    campaign: TrackedCampaign,
    ingestion_client: AsyncTestClient[Any],
):
    ws = campaign.workspace_id
    click = await insert_click(session, engine, campaign, NOW - timedelta(hours=3))
    file = tmp_path / "queued.csv"
    file.write_text(f"clickid,sum\n{click},2\n")
    job = await _store(engine, ws, file)
    await _eventually(lambda: _finished(engine, ws, job.id))
    assert await count(session, "SELECT count(*) FROM conversion_events") == 1


async def _finished(engine: AsyncEngine, workspace_id: int, job_id: int) -> bool:
    async with driver_connection(engine) as conn:
        job = await job_progress(conn, workspace_id=workspace_id, job_id=job_id)
    return job is not None and job.finished


async def _eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, "not done in time"
        await asyncio.sleep(0.05)


async def test_uploaded_events_are_announced_to_the_live_feed_by_their_commit(
    tmp_path: Path,
    session: AsyncSession,
    engine: AsyncEngine,
    campaign: TrackedCampaign,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
):
    ws = campaign.workspace_id
    a = await insert_click(session, engine, campaign, NOW - timedelta(hours=3))
    b = await insert_click(session, engine, campaign, NOW - timedelta(hours=3))
    file = tmp_path / "live.csv"
    file.write_text(
        "clickid,sum,status\n"
        f"{a},5,pending\n"  # added
        f"{a},5,approved\n"  # updated
        f"{a},5,approved\n"  # duplicate: nothing to announce
        f"{b},5,\n"  # added
        "nosuchclick,5,\n"  # rejected
    )
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    listener = await asyncpg.connect(dsn)
    heard: list[str] = []
    await listener.add_listener(live.CHANNEL, lambda *args: heard.append(args[3]))
    try:
        # A chunk that fails rolls back, and its announcement with it.
        failing = await _store(engine, ws, file)

        async def fail(*args: object, **kwargs: object) -> None:
            raise RuntimeError("the chunk fails before its commit")

        with monkeypatch.context() as patched:
            patched.setattr(uploads_repository, "record_outcomes", fail)
            with pytest.raises(RuntimeError):
                await process_job(
                    engine, workspace_id=ws, job_id=failing.id, received_at=failing.created_at
                )
        assert await count(session, "SELECT count(*) FROM conversion_events") == 0
        await UploadWorker(engine).run_queued()
        rows = await session.execute(text("SELECT click_id, id FROM conversion_events"))
        events: dict[str, int] = {row.click_id: row.id for row in rows}
        expected = [(events[a], live.ADDED), (events[a], live.UPDATED), (events[b], live.ADDED)]

        def entries() -> list[tuple[int, str]]:
            return [
                (entry.event_id, entry.change)
                for payload in heard
                for entry in live.announced(payload)
                if entry.workspace_id == ws
            ]

        async def all_heard() -> bool:
            return len(entries()) >= len(expected)

        await _eventually(all_heard)
        assert entries() == expected
    finally:
        await listener.close()
