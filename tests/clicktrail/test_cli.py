"""The `clicktrail` command as an operator runs it: real processes, real sockets."""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psutil
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col, select

from api.catalog.service import create_campaign
from api.workspaces.service import NewWorkspace, create_workspace
from models import ApiKey, Click
from models.click_ids import new_click_id
from models.partitions import ensure_partitions
from models.postmaster import postmaster, stop_postmaster
from tests.metrics_text import value


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLICKTRAIL_")}
    env.pop("DATABASE_URL", None)
    # The forwarder's metrics port, so that runs side by side do not meet on the default.
    env["CLICKTRAIL_FORWARDER_METRICS_PORT"] = str(_free_port())
    env.update(overrides)
    return env


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clicktrail", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextmanager
def _serving(env: dict[str, str], seen: list[str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """`clicktrail serve` until its banner; the lines up to it go into ``seen``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "clicktrail", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 90
        seen = [] if seen is None else seen
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            seen.append(line)
            if "Press Ctrl+C" in line or (not line and process.poll() is not None):
                break
        assert any("Press Ctrl+C" in line for line in seen), "".join(seen)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                raise


def _get(url: str | urllib.request.Request) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:
        return int(response.status)


def _graphiql(env: dict[str, str]) -> int:
    """The status of a browser's visit to /graphql, without a key."""
    url = f"http://127.0.0.1:{env['CLICKTRAIL_API_PORT']}/graphql"
    try:
        return _get(urllib.request.Request(url, headers={"Accept": "text/html"}))
    except urllib.error.HTTPError as refused:
        return refused.code


def test_unreachable_database_is_one_line_with_the_password_hidden():
    result = _run("migrate", env=_env(DATABASE_URL="postgresql://bob:hunter2@127.0.0.1:1/x"))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("clicktrail: error: cannot connect to database")
    assert "postgresql://bob:***@127.0.0.1:1/x" in result.stderr
    assert "hunter2" not in result.stderr


def test_unwritable_data_folder_is_reported():
    with tempfile.NamedTemporaryFile(dir="/tmp") as blocker:
        result = _run("migrate", env=_env(CLICKTRAIL_DATA_DIR=f"{blocker.name}/data"))
    assert result.returncode == 1
    assert "data folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_port_in_use_is_reported(database_url: str):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run(
            "serve-ingestion",
            "--no-migrate",
            env=_env(DATABASE_URL=database_url, CLICKTRAIL_INGESTION_PORT=str(port)),
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port} for the ingestion service" in result.stderr
    assert "CLICKTRAIL_INGESTION_PORT" in result.stderr


async def test_create_workspace_prints_the_secrets_once(database_url: str, engine: AsyncEngine):
    result = _run(
        "create-workspace", "Acme", "--currency", "EUR", env=_env(DATABASE_URL=database_url)
    )
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" : ", 1) for line in result.stdout.splitlines() if " : " in line)
    key = lines["admin API key       "].split()[0]
    secret = lines["postback secret     "]
    assert f"/postback/{secret}?clickid={{clickid}}" in lines["conversion postback "]
    assert "&type=transaction&txid={txid}" in lines["transaction postback"]
    assert f"/pixel/{secret}.gif" in lines["conversion pixel    "]
    workspace_id = result.stdout.split()[1]
    shown = _run("templates", workspace_id, env=_env(DATABASE_URL=database_url))
    assert shown.stdout == result.stdout.split("postback secret", 1)[1].split("\n", 1)[1]
    async with engine.connect() as conn:
        stored = (await conn.execute(select(col(ApiKey.secret_hash)))).scalar_one()
    assert stored == hashlib.sha256(key.encode()).digest()


def test_create_workspace_rejects_an_unknown_time_zone(database_url: str):
    result = _run(
        "create-workspace",
        "Acme",
        "--timezone",
        "Mars/Olympus",
        env=_env(DATABASE_URL=database_url),
    )
    assert result.returncode == 1
    assert "unknown time zone 'Mars/Olympus'" in result.stderr


def test_serve_runs_both_apps_until_interrupted(database_url: str, engine: AsyncEngine):
    ingestion, api = _free_port(), _free_port()
    env = _env(
        DATABASE_URL=database_url,
        CLICKTRAIL_INGESTION_PORT=str(ingestion),
        CLICKTRAIL_API_PORT=str(api),
    )
    with _serving(env) as process:
        assert _get(f"http://127.0.0.1:{ingestion}/health") == 200
        assert _get(f"http://127.0.0.1:{api}/health") == 200
        # With DATABASE_URL (production) GraphiQL stays off unless asked for.
        assert _graphiql(env) == 401
        _walkthrough(env)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


def test_serve_logs_json_lines_with_each_request_id(database_url: str):
    ingestion, api = _free_port(), _free_port()
    env = _env(
        DATABASE_URL=database_url,
        CLICKTRAIL_INGESTION_PORT=str(ingestion),
        CLICKTRAIL_API_PORT=str(api),
        CLICKTRAIL_LOG_FORMAT="json",
        CLICKTRAIL_INGESTION_ACCESS_LOG="true",
    )
    startup: list[str] = []
    with _serving(env, startup) as process:
        for port, rid in ((ingestion, "e2e-ingestion"), (api, "e2e-api")):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/health?token=x", headers={"X-Request-ID": rid}
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.headers["X-Request-ID"] == rid
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert process.stdout is not None
        output = "".join(startup) + process.stdout.read()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = {line["request_id"]: line for line in lines if line["logger"] == "clicktrail.access"}
    for rid in ("e2e-ingestion", "e2e-api"):
        assert access[rid]["http"]["route"] == "/health"
        assert access[rid]["http"]["path"] == "/health"
        assert access[rid]["http"]["status"] == 200
        assert access[rid]["level"] == "INFO"
    # The forwarder writes the same format, and so does granian (its start and stop lines).
    assert any(line["logger"] == "forwarder" for line in lines)
    granian = [line["message"] for line in lines if line["logger"] == "_granian"]
    assert any("Starting granian" in message for message in granian), output
    assert any("Shutting down granian" in message for message in granian), output
    assert not [line for line in output.splitlines() if line.startswith("[INFO]")], output


def _metrics(port: int, token: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers=headers)
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(response.read().decode())


def test_serve_sums_every_workers_metrics_in_one_scrape(database_url: str, tmp_path: Path):
    ingestion, api, forwarder = _free_port(), _free_port(), _free_port()
    token = "metrics-token-of-the-test"
    env = _env(
        DATABASE_URL=database_url,
        CLICKTRAIL_INGESTION_PORT=str(ingestion),
        CLICKTRAIL_API_PORT=str(api),
        CLICKTRAIL_FORWARDER_METRICS_PORT=str(forwarder),
        CLICKTRAIL_WORKERS="2",
        # A pool of exactly 3 per worker, whatever the workers' background jobs hold.
        CLICKTRAIL_POOL_MIN_SIZE="3",
        CLICKTRAIL_POOL_SIZE="3",
        CLICKTRAIL_POOL_MAX_OVERFLOW="0",
        CLICKTRAIL_METRICS_TOKEN=token,
        # Where each service's metrics folder goes, to see it made and removed.
        TMPDIR=str(tmp_path),
    )
    with _serving(env) as process:
        assert sorted(p.name.split("-")[2] for p in tmp_path.glob("clicktrail-metrics-*")) == [
            "api",
            "ingestion",
        ]
        for _ in range(20):
            with pytest.raises(urllib.error.HTTPError) as missing:
                _get(f"http://127.0.0.1:{ingestion}/c/no-such-campaign")
            assert missing.value.code == 404
        with pytest.raises(urllib.error.HTTPError) as refused:
            _metrics(ingestion)
        assert refused.value.code == 401

        def summed() -> bool:
            text = _metrics(ingestion, token)
            # Each worker opened 3 connections before serving: both workers' pools are in it.
            idle = value(text, "clicktrail_db_pool_connections", state="idle")
            in_use = value(text, "clicktrail_db_pool_connections", state="in_use")
            return idle + in_use == 6

        _eventually(summed)
        for _ in range(5):  # whichever worker answers, it reports them all
            text = _metrics(ingestion, token)
            requests = value(
                text,
                "clicktrail_http_request_duration_seconds_count",
                route="/c/{campaign_key}",
                method="GET",
                status="404",
            )
            assert requests == 20
        assert "clicktrail_http_request_duration_seconds" in _metrics(api, token)
        forwarded = _metrics(forwarder, token)
        assert "clicktrail_forwards_in_flight 0.0" in forwarded
        # The forwarder's own pool (its size and overflow are the variables above).
        assert value(forwarded, "clicktrail_db_pool_limit") == 3
        assert "clicktrail_http_request" not in forwarded
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    assert list(tmp_path.glob("clicktrail-metrics-*")) == []


def test_a_taken_forwarder_metrics_port_is_reported(database_url: str):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = _env(DATABASE_URL=database_url, CLICKTRAIL_FORWARDER_METRICS_PORT=str(port))
        alone = _run("serve-forwarder", "--no-migrate", env=env)
        beside = _run(
            "serve",
            env={
                **env,
                "CLICKTRAIL_INGESTION_PORT": str(_free_port()),
                "CLICKTRAIL_API_PORT": str(_free_port()),
            },
        )
    for result in (alone, beside):
        assert result.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port} for the forwarder's metrics" in result.stderr
        assert "CLICKTRAIL_FORWARDER_METRICS_PORT" in result.stderr
        assert "Traceback" not in result.stderr


def test_the_cli_leaves_prometheus_client_to_the_services():
    # serve-ingestion and serve-api run granian in the CLI's process: had it imported
    # prometheus_client before the metrics folder was set, the workers would count apart.
    probe = "import sys, clicktrail.cli; print('prometheus_client' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=_env()
    )
    assert result.stdout.strip() == "False"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _walkthrough(env: dict[str, str]) -> None:
    """The README's walkthrough against the running servers: workspace, campaign, click, sale."""
    created = _run("create-workspace", "Walkthrough", env=env)
    lines = dict(line.split(" : ", 1) for line in created.stdout.splitlines() if " : " in line)
    workspace_id = created.stdout.split()[1]
    campaign = _run(
        "create-campaign",
        workspace_id,
        "Spring",
        "--offer-url",
        "https://shop.example/?cid={clickid}&s1={sub1}",
        "--cpc",
        "0.02",
        env=env,
    )
    assert campaign.returncode == 0, campaign.stderr
    link = campaign.stdout.split("tracking link : ")[1].strip().replace("{sub1}", "banner")
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(link, timeout=5)
    assert redirect.value.code == 302
    location = redirect.value.headers["Location"]
    assert location.startswith("https://shop.example/?cid=")
    assert location.endswith("&s1=banner")
    click_id = location.split("cid=")[1].split("&")[0]
    postback = lines["transaction postback"].replace("{clickid}", click_id)
    postback = postback.replace("{txid}", "A1").replace("{payout}", "12.5")
    with urllib.request.urlopen(postback, timeout=5) as response:
        assert json.loads(response.read())["result"] == "accepted"


def test_embedded_serve_keeps_data_and_refuses_a_second_serve():
    data_dir = Path(tempfile.mkdtemp(prefix="ct-", dir="/tmp"))
    env = _env(
        CLICKTRAIL_DATA_DIR=str(data_dir),
        CLICKTRAIL_INGESTION_PORT=str(_free_port()),
        CLICKTRAIL_API_PORT=str(_free_port()),
    )
    try:
        with _serving(env):
            assert _graphiql(env) == 200
            created = _run("create-workspace", "Kept", env=env)
            assert created.returncode == 0, created.stderr
            second = _run("serve", env=env)
            assert second.returncode == 1
            assert f"data folder {data_dir} is in use by another clicktrail" in second.stderr
            server = postmaster(data_dir / "pg")
            assert server is not None
        # Ctrl+C stopped the embedded server before serve exited.
        assert not _running(server.pid)
        # After the restart the first workspace is still there: the next one gets id 2.
        again = _run("create-workspace", "Next", env=env)
        assert again.returncode == 0, again.stderr
        assert again.stdout.startswith("workspace 2 (Next) created")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _eventually(check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _healthy(port: int) -> bool:
    try:
        return _get(f"http://127.0.0.1:{port}/health") == 200
    except OSError:
        return False


@pytest.mark.parametrize("command", ["serve", "serve-ingestion"])
def test_a_killed_serve_leaves_no_server_behind(command: str):
    data_dir = Path(tempfile.mkdtemp(prefix="ct-", dir="/tmp"))
    ports = _free_port(), _free_port()
    env = _env(
        CLICKTRAIL_DATA_DIR=str(data_dir),
        CLICKTRAIL_INGESTION_PORT=str(ports[0]),
        CLICKTRAIL_API_PORT=str(ports[1]),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "clicktrail", command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _eventually(lambda: _healthy(ports[0]), timeout_s=90)
        server = postmaster(data_dir / "pg")
        assert server is not None
        process.kill()  # no handler runs
        process.wait()
        # The watchdog stops PostgreSQL; the kernel sends the services' processes SIGTERM.
        _eventually(lambda: not _running(server.pid) and all(map(_port_free, ports)))
    finally:
        process.kill()
        stop_postmaster(data_dir / "pg")  # after a failure, at least
        shutil.rmtree(data_dir, ignore_errors=True)


def test_invalid_setting_names_the_variable():
    result = _run("migrate", env=_env(CLICKTRAIL_WORKERS="0"))
    assert result.returncode == 1
    assert result.stderr == (
        "clicktrail: error: CLICKTRAIL_WORKERS='0': Input should be greater than 0\n"
    )


def test_a_raw_retention_of_zero_is_refused_before_anything_is_dropped():
    result = _run("migrate", env=_env(CLICKTRAIL_RAW_RETENTION_DAYS="0"))
    assert result.returncode == 1
    assert result.stderr == (
        "clicktrail: error: CLICKTRAIL_RAW_RETENTION_DAYS='0': Value error, keep raw rows from 1 "
        "to 3650 days, or unset the variable to keep them forever\n"
    )


async def test_rebuild_rollups_recounts_a_workspace(
    database_url: str, engine: AsyncEngine, session: AsyncSession, workspace: NewWorkspace
):
    ws = workspace.workspace.id
    assert ws is not None
    campaign = (
        await create_campaign(
            session, workspace_id=ws, name="Rebuilt", offer_url="https://o.example/?c={clickid}"
        )
    ).campaign
    assert campaign.id is not None
    click_id, created_at = new_click_id(datetime.now(UTC))
    session.add(Click(workspace_id=ws, created_at=created_at, id=click_id, campaign_id=campaign.id))
    await session.commit()
    await session.execute(text("DELETE FROM rollup_campaign_clicks"))  # lost, as after a bug
    await session.commit()

    result = _run("rebuild-rollups", "--workspace", str(ws), env=_env(DATABASE_URL=database_url))
    assert result.returncode == 0, result.stderr
    assert f"rollups rebuilt for workspace {ws}: 5 rows in " in result.stdout
    # A line per rollup table recounted, then the workspace's, each with its time.
    steps = result.stderr.splitlines()
    assert len(steps) == 11
    assert steps[0].startswith("rollup_campaign_daily_clicks: 1 rows (")
    assert steps[-1].startswith(f"workspace {ws} (1/1): 5 rows (")
    clicks = await session.execute(text("SELECT sum(clicks) FROM rollup_campaign_clicks"))
    assert clicks.scalar_one() == 1

    missing = _run("rebuild-rollups", "--workspace", "999999", env=_env(DATABASE_URL=database_url))
    assert missing.returncode == 1
    assert missing.stderr == "clicktrail: error: workspace 999999 does not exist\n"


async def test_upload_conversions_applies_a_file_and_names_its_bad_rows(
    database_url: str,
    engine: AsyncEngine,
    session: AsyncSession,
    workspace: NewWorkspace,
    tmp_path: Path,
):
    ws = workspace.workspace.id
    assert ws is not None
    campaign = (
        await create_campaign(
            session, workspace_id=ws, name="Uploaded", offer_url="https://o.example/?c={clickid}"
        )
    ).campaign
    assert campaign.id is not None
    click_id, created_at = new_click_id(datetime.now(UTC))
    session.add(Click(workspace_id=ws, created_at=created_at, id=click_id, campaign_id=campaign.id))
    await session.commit()
    file = tmp_path / "conversions.csv"
    file.write_text(f"click_id,amount,txid\n{click_id},9.90,A\nnot-a-click,1,B\n{click_id},x,C\n")
    env = _env(DATABASE_URL=database_url)

    result = _run("upload-conversions", str(file), "--workspace", str(ws), env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith(f": 3 rows of {file} stored")
    assert lines[1].endswith(": 1 accepted, 0 updated, 0 duplicate, 2 rejected")
    assert lines[2].startswith(
        "  line 3: unknown_click: 'not-a-click' is not a clicktrail click id"
    )
    assert lines[3].startswith("  line 4: bad_amount: ")
    # Not a terminal: a line per tenth of the work, the last one complete.
    assert result.stderr.splitlines()[-1].startswith(f"[{'#' * 30}] 3/3 rows 100%")
    amount = await session.execute(text("SELECT amount FROM conversion_events"))
    assert amount.scalar_one() == Decimal("9.90")

    again = _run("upload-conversions", str(file), "--workspace", str(ws), env=env)
    assert again.returncode == 0, again.stderr
    assert f"{file} was uploaded before" in again.stdout
    assert (await session.execute(text("SELECT count(*) FROM conversion_events"))).scalar() == 1

    file.write_bytes(b"\xff\xfec\x00")
    refused = _run("upload-conversions", str(file), "--workspace", str(ws), env=env)
    assert refused.returncode == 1
    assert refused.stderr == (
        f"clicktrail: error: {file}: the file is UTF-16: save it as UTF-8 and upload it again "
        "(bad_encoding)\n"
    )
    missing = _run(
        "upload-conversions", str(tmp_path / "nope.csv"), "--workspace", str(ws), env=env
    )
    assert missing.returncode == 1
    assert "No such file or directory" in missing.stderr


async def test_rebuild_rollups_without_a_workspace_recounts_every_one(
    database_url: str, engine: AsyncEngine, session: AsyncSession, workspace: NewWorkspace
):
    other = (await create_workspace(session, name="Other", timezone="Asia/Tokyo")).workspace
    await session.commit()
    for owner in (workspace.workspace, other):
        assert owner.id is not None
        campaign = (
            await create_campaign(
                session, workspace_id=owner.id, name="Bulk", offer_url="https://o.example/"
            )
        ).campaign
        assert campaign.id is not None
        for _ in range(2):
            click_id, created_at = new_click_id(datetime.now(UTC))
            # Made by hand: no rollup changes are written for them.
            session.add(
                Click(
                    workspace_id=owner.id,
                    created_at=created_at,
                    id=click_id,
                    campaign_id=campaign.id,
                )
            )
    await session.commit()

    result = _run("rebuild-rollups", env=_env(DATABASE_URL=database_url))
    assert result.returncode == 0, result.stderr
    assert "rollups rebuilt for every workspace" in result.stdout
    assert result.stderr.splitlines()[1].startswith(f"workspace {other.id} (2/2): 5 rows (")
    counted = await session.execute(
        text(
            "SELECT workspace_id, timezone, sum(clicks) FROM rollup_campaign_daily_clicks "
            "GROUP BY 1, 2 ORDER BY 1"
        )
    )
    assert [tuple(row) for row in counted] == [
        (workspace.workspace.id, "Europe/Berlin", 2),
        (other.id, "Asia/Tokyo", 2),
    ]


async def test_update_costs_spreads_a_total_and_a_rerun_with_its_request_id_repeats_nothing(
    database_url: str, engine: AsyncEngine, session: AsyncSession, workspace: NewWorkspace
):
    ws = workspace.workspace.id
    assert ws is not None
    campaign = (
        await create_campaign(
            session, workspace_id=ws, name="Costed", offer_url="https://o.example/?c={clickid}"
        )
    ).campaign
    await session.commit()
    assert campaign.id is not None
    start = datetime(2030, 4, 1, tzinfo=UTC)
    async with engine.begin() as conn:
        await ensure_partitions(conn, since=start, until=start)
    for minute in range(3):
        click_id, created_at = new_click_id(start + timedelta(minutes=minute))
        session.add(
            Click(workspace_id=ws, created_at=created_at, id=click_id, campaign_id=campaign.id)
        )
    await session.commit()
    env = _env(DATABASE_URL=database_url)
    command = (
        "update-costs", str(ws), str(campaign.id), "--from", "2030-04-01T00:00:00Z",
        "--to", "2030-04-02T00:00:00+00:00", "--total", "10", "--request-id", "april-1",
    )  # fmt: skip

    result = _run(*command, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "cost update 1: 3 clicks planned",
        "cost update 1: 3 clicks, their cost 0.000000 -> 10.000000 (workspace currency)",
    ]
    assert result.stderr.splitlines()[-1].startswith(f"[{'#' * 30}] 3/3 rows 100%")
    costs = await session.execute(text("SELECT cost FROM clicks ORDER BY created_at"))
    assert costs.scalars().all() == [Decimal("3.333334"), Decimal("3.333333"), Decimal("3.333333")]

    again = _run(*command, env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == "request 'april-1' was made before: cost update 1"
    assert await session.scalar(text("SELECT count(*) FROM cost_updates")) == 1

    refused = _run(*command[:-4], "--per-click", "-1", env=env)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "clicktrail: error: amount must be a number of 0 or more, got -1"
    )
