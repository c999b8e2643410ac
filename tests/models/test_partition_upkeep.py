"""Retention in the partition upkeep: whole expired months dropped once, never stalling writers."""

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from models.partition_upkeep import drop_expired
from models.partitions import (
    PARTITIONED_TABLES,
    add_months,
    drop_partitions,
    ensure_partitions,
    existing_partitions,
)

# Months no other test writes to, so that what these tests drop is theirs to count.
JANUARY, MARCH = datetime(2003, 1, 1, tzinfo=UTC), datetime(2003, 3, 1, tzinfo=UTC)
# 30 days before it lies in March: January and February have expired, March has not.
NOW = datetime(2003, 4, 20, tzinfo=UTC)
EXPIRED = {f"{table}_y2003m{month:02d}" for table in PARTITIONED_TABLES for month in (1, 2)}


def _ours(names: list[str]) -> list[str]:
    return sorted(name for name in names if "_y2003m" in name)


async def _existing(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return _ours(list(await existing_partitions(conn)))


@pytest.fixture
async def months(engine: AsyncEngine) -> AsyncIterator[None]:
    """January to March 2003, gone again after the test (other tests count old partitions)."""
    async with engine.begin() as conn:
        await ensure_partitions(conn, since=JANUARY, until=MARCH)
    yield
    async with engine.begin() as conn:
        await drop_partitions(conn, before=add_months(MARCH, 1))


def _dropped_total(table: str) -> float:
    found = REGISTRY.get_sample_value("clicktrail_partitions_dropped_total", {"table": table})
    return found or 0.0


@pytest.mark.usefixtures("months")
async def test_only_months_that_ended_before_the_retention_are_dropped(
    engine: AsyncEngine, service_log: list[logging.LogRecord]
):
    counted = {table: _dropped_total(table) for table in PARTITIONED_TABLES}

    dropped = await drop_expired(engine, retention_days=30, now=NOW)

    assert set(_ours(dropped)) == EXPIRED
    assert await _existing(engine) == [f"{table}_y2003m03" for table in sorted(PARTITIONED_TABLES)]
    # Events before the clicks they point at.
    assert dropped.index("conversion_events_y2003m01") < dropped.index("clicks_y2003m01")
    for table in PARTITIONED_TABLES:
        assert _dropped_total(table) - counted[table] >= 2
    [said] = [r.getMessage() for r in service_log if r.getMessage().startswith("retention:")]
    assert "clicks_y2003m01" in said
    assert said.endswith("(raw rows kept 30 days)")
    assert await drop_expired(engine, retention_days=30, now=NOW) == []


@pytest.mark.usefixtures("months")
async def test_workers_dropping_at_once_drop_each_partition_once(engine: AsyncEngine):

    first, second = await asyncio.gather(
        drop_expired(engine, retention_days=30, now=NOW),
        drop_expired(engine, retention_days=30, now=NOW),
    )

    assert sorted(_ours(first) + _ours(second)) == sorted(EXPIRED)
    assert not (_ours(first) and _ours(second))


@pytest.mark.usefixtures("months")
async def test_a_busy_table_puts_the_drop_off_instead_of_stalling_writers(
    engine: AsyncEngine, service_log: list[logging.LogRecord]
):
    async with engine.connect() as reader:
        # A long report reading an expired month of clicks.
        await reader.execute(text("SELECT count(*) FROM clicks_y2003m01"))
        started = asyncio.get_running_loop().time()

        dropped = await drop_expired(engine, retention_days=30, now=NOW, lock_timeout_ms=200)

        assert dropped == []
        assert asyncio.get_running_loop().time() - started < 5
        await reader.rollback()
    assert set(EXPIRED) <= set(await _existing(engine))
    assert any("stayed busy for 200 ms" in r.getMessage() for r in service_log)
    assert set(_ours(await drop_expired(engine, retention_days=30, now=NOW))) == EXPIRED
