"""First paint of the dashboard's campaigns page with 200 campaigns, in a real headless Chromium.

    PYTHONPATH=. .venv/bin/python bench/dashboard.py [--campaigns 200] [--runs 10]

Builds a database of its own, `clicktrail_bench_dashboard`, on DATABASE_URL's server (default
postgresql://postgres@127.0.0.1:5432/postgres; dropped and made again each run): one
workspace, ``--campaigns`` campaigns with 5 clicks each through the real ingestion app (in
process) and a conversion on every fifth click. Then `clicktrail serve-api` (one worker) and
Debian's Chromium (/usr/bin/chromium) through Playwright: each run is a fresh browser context
(empty cache) with the API key and the workspace's zone already in session storage (as a sign-in
leaves them), loading `/`. The figures come from
the page's Performance API: first contentful paint (the shell), and the `campaigns-table` mark
the page sets once the table with every campaign is in the document, both from navigation
start. CPU: the API process's per page load, and the whole machine's.
"""

import argparse
import asyncio
import logging
import os
import signal
import statistics
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient
from playwright.async_api import async_playwright
from sqlalchemy.ext.asyncio import async_sessionmaker

from api.catalog.service import create_campaign
from api.workspaces.service import create_workspace
from bench.api_setup import (
    DEFAULT_SERVER,
    REPO,
    _asyncpg_dsn,
    _with_database,
    background,
    machine_line,
    warn_if_busy,
)
from bench.machine import cpu_times, free_port
from ingestion.app import create_app as create_ingestion_app
from models.database import create_engine
from models.enums import CostModel
from models.migrate import upgrade
from models.partitions import prepare_partitions
from models.settings import Settings

DATABASE = "clicktrail_bench_dashboard"
CHROMIUM = "/usr/bin/chromium"
CLICKS_PER_CAMPAIGN = 5
OFFER_URL = "https://shop.example/?cid={clickid}&s1={sub1}"
TABLE_MARK = "campaigns-table"


async def _fresh_database(server_url: str) -> str:
    admin = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    return _with_database(server_url, DATABASE)


async def _load(url: str, campaigns: int) -> str:
    """The workspace and its traffic; returns its admin API key."""
    settings = Settings(database_url=url, _env_file=None)
    engine = create_engine(url, settings, application_name="clicktrail-bench")
    try:
        await upgrade(engine)
        await prepare_partitions(engine, months_ahead=1)
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            workspace = await create_workspace(session, name="Bench Media", timezone="UTC")
            workspace_id = workspace.workspace.id
            assert workspace_id is not None
            for n in range(campaigns):
                await create_campaign(
                    session,
                    workspace_id=workspace_id,
                    name=f"Campaign {n:03d}",
                    key=f"camp{n:03d}",
                    offer_url=OFFER_URL,
                    source_name=f"Source {n % 8}",
                    source_click_id_param=None,
                    cost_model=CostModel.CPC,
                    cost_value=Decimal("0.05"),
                    payout=Decimal("2.5"),
                )
            await session.commit()
        async with AsyncTestClient(app=create_ingestion_app(settings)) as ingestion:
            for n in range(campaigns):
                for i in range(CLICKS_PER_CAMPAIGN):
                    response = await ingestion.get(
                        f"/c/camp{n:03d}?sub1=s{i}", follow_redirects=False
                    )
                    assert response.status_code == 302, response.text
                    if i == 0:
                        click_id = response.headers["location"].split("cid=")[1].split("&")[0]
                        answer = await ingestion.get(
                            f"/postback/{workspace.postback_secret}",
                            params={"clickid": click_id, "sum": "12.5"},
                        )
                        assert answer.status_code == 200, answer.text
        return workspace.admin_api_key
    finally:
        await engine.dispose()


async def _measure(base: str, key: str, runs: int, campaigns: int, api_pid: int) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        figures: list[dict[str, Any]] = []
        before = None
        for run in range(runs + 1):  # the first run warms the server's caches
            if run == 1:
                before = cpu_times(api_pid)
            context = await browser.new_context(base_url=base)
            # As a sign-in in this tab leaves them: the key and the workspace's zone.
            await context.add_init_script(
                f"sessionStorage.setItem('clicktrail.apiKey', {key!r});"
                "sessionStorage.setItem('clicktrail.timezone', 'UTC')"
            )
            page = await context.new_page()
            await page.goto("/")
            await page.wait_for_function(
                f"() => performance.getEntriesByName('{TABLE_MARK}').length > 0", timeout=30_000
            )
            rows = await page.locator("#report tbody tr:not(.totals)").count()
            assert rows == campaigns, f"{rows} rows, expected {campaigns}"
            figures.append(
                await page.evaluate(
                    f"""() => ({{
                    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
                    table: performance.getEntriesByName('{TABLE_MARK}')[0].startTime,
                    dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
                }})"""
                )
            )
            await context.close()
        assert before is not None
        spent = cpu_times(api_pid) - before
        await browser.close()
    measured = figures[1:]
    for name, label in (
        ("fcp", "first contentful paint"),
        ("table", "campaigns table (200 rows) in the document"),
        ("dcl", "DOMContentLoaded"),
    ):
        values = [f[name] for f in measured]
        print(
            f"{label}: median {statistics.median(values):.0f} ms, "
            f"min {min(values):.0f} ms, max {max(values):.0f} ms"
        )
    # PostgreSQL's share is left out: it sums every postgres process on the machine, which
    # on a shared machine includes (and loses, as they exit) other work's backends.
    print(
        f"CPU per page load: API process {spent.service / runs * 1e3:.1f} ms, "
        f"machine (browser and anything else running included) "
        f"{spent.machine / runs * 1e3:.0f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--campaigns", type=int, default=200)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not Path(CHROMIUM).exists():  # noqa: ASYNC240 - once, before anything runs
        sys.exit(f"needs {CHROMIUM}: apt-get install -y chromium")
    server_url = os.environ.get("DATABASE_URL", DEFAULT_SERVER)
    url = await _fresh_database(server_url)
    print(await machine_line(url), flush=True)
    key = await _load(url, args.campaigns)
    print(f"loaded {args.campaigns} campaigns, {args.campaigns * CLICKS_PER_CAMPAIGN} clicks")
    warn_if_busy()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        CLICKTRAIL_DATABASE_URL=url,
        CLICKTRAIL_WORKERS="1",
        CLICKTRAIL_API_PORT=str(port),
        CLICKTRAIL_HOST="127.0.0.1",
    )
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        async with background(
            "serve-api",
            [sys.executable, "-m", "clicktrail", "serve-api", "--no-migrate"],
            cwd=REPO,
            env=env,
            log=log,
            ready=lambda client: client.get(f"{base}/health"),
            stop_signal=signal.SIGINT,
        ) as process:
            await _measure(base, key, args.runs, args.campaigns, process.pid)


if __name__ == "__main__":
    asyncio.run(main())
