"""Periodic upkeep: a job that fails through an outage is logged once, then its end."""

import asyncio
import logging
import time

import asyncpg

from models.database import create_engine
from models.periodic import periodically
from models.rollups import compact_rollups
from models.settings import Settings
from tests.conftest import Outage


async def test_a_job_failing_through_an_outage_is_logged_once_then_its_end(
    settings: Settings, outage: Outage, service_log: list[logging.LogRecord]
):
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, settings, application_name="clicktrail-upkeep")
    runs = 0

    async def compact() -> None:
        # Counted once over: an outage begun while the first run was still connecting could
        # miss that connection (a backend not yet listed in pg_stat_activity), which then
        # served every run through the "outage".
        nonlocal runs
        try:
            async with engine.begin() as conn:
                await compact_rollups(conn)
        finally:
            runs += 1

    async def until_run(count: int) -> None:
        deadline = time.monotonic() + 10
        while runs < count:
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.01)

    try:
        async with periodically(compact, what="compact rollups", every_s=0.01):
            await until_run(1)
            async with outage():
                await until_run(runs + 30)
            await until_run(runs + 2)
    finally:
        await engine.dispose()

    messages = [record.getMessage() for record in service_log]
    assert len(messages) == 2, messages
    failed, recovered = service_log
    assert failed.getMessage().startswith("could not compact rollups: ")
    assert failed.exc_info is not None
    assert recovered.getMessage().startswith("can compact rollups again after ")


async def test_a_connection_ended_by_the_server_before_it_noticed_is_an_outage_not_a_crash(
    service_log: list[logging.LogRecord],
):
    """What asyncpg raises for a statement sent after a terminated backend's FATAL error
    arrived but before the hang-up did: the job is logged as failing and runs again."""
    runs = 0

    async def job() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise asyncpg.InternalClientError(
                "cannot switch to state 15; another operation (2) is in progress"
            )

    async with periodically(job, what="compact rollups", every_s=0.01):
        deadline = time.monotonic() + 10
        while runs < 3:
            assert time.monotonic() < deadline, "the job stopped running"
            await asyncio.sleep(0.01)
    failed, recovered = (record.getMessage() for record in service_log)
    assert failed.startswith("could not compact rollups: ")
    assert "another operation (2) is in progress" in failed
    assert recovered.startswith("can compact rollups again after ")
