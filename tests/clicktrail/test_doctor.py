"""`clicktrail --version`, `migrate`'s progress and `clicktrail doctor`, as an operator runs
them."""

import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import make_url

from models.migrate import alembic_config
from models.partitions import add_months, month_start, partition_name
from tests.clicktrail.test_cli import _env, _run
from tests.conftest import create_database, drop_database


@pytest.fixture
async def fresh_url(server_url: str) -> AsyncIterator[str]:
    """An empty database of its own: these tests break what the shared one must keep."""
    url = await create_database(server_url)
    yield url
    await drop_database(server_url, url)


def _lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return result.stdout.splitlines()


def test_version_names_the_package():
    result = _run("--version", env=_env())
    assert result.returncode == 0
    assert result.stdout.strip() == "clicktrail 0.1.0"


def test_doctor_says_to_migrate_an_empty_database_and_migrate_reports_each_step(fresh_url: str):
    env = _env(DATABASE_URL=fresh_url, CLICKTRAIL_PUBLIC_URL="https://t.example")
    before = _run("doctor", env=env)
    assert before.returncode == 1
    assert "FAIL  schema: the database has no clicktrail schema" in _lines(before)
    assert "      fix: run `clicktrail migrate` (the serve commands migrate too)" in _lines(before)

    migrated = _run("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    steps = migrated.stderr.splitlines()
    assert steps[0].startswith("migration 0001: initial schema (")
    assert steps[0].endswith(" s)")
    assert any(line.startswith("migration 0014: conversion uploads") for line in steps)
    assert steps[-1].startswith("partitions: created 12 (clicks_y")
    assert migrated.stdout.startswith("schema is up to date (")

    again = _run("migrate", env=env)
    assert again.stderr == ""  # nothing to do, nothing said

    after = _run("doctor", env=env)
    assert after.returncode == 0, after.stdout
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert _lines(after)[1] == f"ok    schema: at the code's head ({head})"
    assert _lines(after)[-1] == "no problems, 0 warning(s)"


async def test_doctor_names_each_problem_and_its_fix(fresh_url: str):
    env = _env(DATABASE_URL=fresh_url, CLICKTRAIL_PUBLIC_URL="https://t.example")
    assert _run("migrate", env=env).returncode == 0
    next_month = add_months(month_start(datetime.now(UTC)), 1)
    conn = await asyncpg.connect(make_url(fresh_url).render_as_string(hide_password=False))
    try:
        await conn.execute(f"DROP TABLE {partition_name('postback_log', next_month)}")
        # Rows as a stopped ingestion and a failing source leave them (no parents needed).
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(
            "INSERT INTO rollup_clicks_pending (workspace_id, slot, campaign_id, clicks, "
            "unique_clicks, bot_clicks, cost_micros) "
            "SELECT 1, now(), 1, 1, 1, 0, 0 FROM generate_series(1, 100001)"
        )
        await conn.execute(
            "INSERT INTO forwards (workspace_id, template_id, traffic_source_id, "
            "conversion_type_id, conversion_event_id, click_created_at, click_id, event_status, "
            "state, next_attempt_at) VALUES "
            "(1, 1, 1, 1, 1, now(), 'c', 'approved', 'dead', now()), "
            "(1, 1, 1, 1, 2, now(), 'c', 'approved', 'pending', now() - interval '1 hour')"
        )
    finally:
        await conn.close()

    result = _run("doctor", env={**env, "CLICKTRAIL_WORKERS": "8"})
    assert result.returncode == 1
    lines = _lines(result)
    problems = {line.split(":")[0] for line in lines if line.startswith("FAIL")}
    assert problems == {
        "FAIL  partitions",
        "FAIL  rollups",
        "FAIL  forwards",
        "FAIL  forwarder",
        "FAIL  connections",
    }
    missing = next(i for i, line in enumerate(lines) if line.startswith("FAIL  partitions"))
    dropped = partition_name("postback_log", next_month)
    assert lines[missing] == f"FAIL  partitions: missing {dropped}"
    assert lines[missing + 1].startswith("      fix: run `clicktrail migrate`")
    assert "FAIL  rollups: 100,001 changes pending compaction" in result.stdout
    assert "1 forwards dead-lettered in the last day (1 dead in all)" in result.stdout
    assert "1 forwards due for over 300 s" in result.stdout
    assert "30 per process x 8 workers x 2 apps" in result.stdout
    assert lines[-1] == "5 problem(s), 0 warning(s)"


def test_doctor_without_a_database_says_how_to_reach_one():
    result = _run("doctor", env=_env(DATABASE_URL="postgresql://bob:hunter2@127.0.0.1:1/x"))
    assert result.returncode == 1
    assert _lines(result)[0].startswith("FAIL  database: cannot connect to database postgresql://")
    assert "hunter2" not in result.stdout
    assert _lines(result)[1].startswith("      fix: start PostgreSQL, or point DATABASE_URL")


def test_doctor_warns_of_settings_that_disagree(fresh_url: str):
    env = _env(
        DATABASE_URL=fresh_url,
        CLICKTRAIL_POOL_SIZE="2",
        CLICKTRAIL_POOL_MIN_SIZE="5",
        CLICKTRAIL_STATEMENT_TIMEOUT_MS="0",
    )
    assert _run("migrate", env=env).returncode == 0
    result = _run("doctor", env=env)
    assert result.returncode == 0, result.stdout  # warnings only
    warnings = [line for line in _lines(result) if line.startswith("warn")]
    assert len(warnings) == 3
    assert "CLICKTRAIL_POOL_MIN_SIZE=5 is above CLICKTRAIL_POOL_SIZE=2" in warnings[0]
    assert "CLICKTRAIL_STATEMENT_TIMEOUT_MS=0" in warnings[1]
    assert "set CLICKTRAIL_PUBLIC_URL" in result.stdout
    assert _lines(result)[-1] == "no problems, 3 warning(s)"


async def test_doctor_shows_the_retention_and_warns_when_it_is_shorter_than_a_window(
    fresh_url: str,
):
    env = _env(DATABASE_URL=fresh_url, CLICKTRAIL_PUBLIC_URL="https://t.example")
    assert _run("migrate", env=env).returncode == 0
    this_month = f"{month_start(datetime.now(UTC)):%Y-%m}"
    forever = _run("doctor", env=env)
    assert f"ok    retention: raw rows kept forever; raw rows since {this_month}" in _lines(forever)

    conn = await asyncpg.connect(make_url(fresh_url).render_as_string(hide_password=False))
    try:
        await conn.execute("SET session_replication_role = replica")  # no parents needed
        await conn.execute(
            "INSERT INTO campaigns (workspace_id, key, name, attribution_window_days) "
            "VALUES (1, 'k', 'Late converters', 90)"
        )
    finally:
        await conn.close()
    result = _run("doctor", env={**env, "CLICKTRAIL_RAW_RETENTION_DAYS": "60"})
    assert result.returncode == 0, result.stdout  # a warning
    [warning] = [line for line in _lines(result) if line.startswith("warn")]
    assert warning == (
        "warn  retention: raw clicks, events and postback log dropped by whole months once 60 "
        f"days old; raw rows since {this_month} (reports over rollups keep older figures, "
        "reports of raw rows find none); a campaign takes conversions up to 90 days after the "
        "click, but a postback for a click older than 60 days may find it dropped (unknown_click)"
    )
    assert "fix: raise CLICKTRAIL_RAW_RETENTION_DAYS to 90 or more" in result.stdout
    enough = _run("doctor", env={**env, "CLICKTRAIL_RAW_RETENTION_DAYS": "90"})
    assert not [line for line in _lines(enough) if line.startswith("warn")]
