"""graphql-http's GraphQL-over-HTTP audit against the API served by granian on a real socket."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.workspaces.service import NewWorkspace
from models.settings import Settings

AUDIT = Path(__file__).parents[2] / ".ci" / "graphql-http-audit"
NODE, NPM = shutil.which("node"), shutil.which("npm")

pytestmark = pytest.mark.skipif(
    NODE is None or NPM is None, reason="node and npm are needed to run graphql-http's audit"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def api_url(engine: AsyncEngine, settings: Settings) -> Iterator[str]:
    assert settings.database_url is not None
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLICKTRAIL_")}
    env.pop("DATABASE_URL", None)
    env |= {
        "CLICKTRAIL_DATABASE_URL": settings.database_url,
        "CLICKTRAIL_HOST": "127.0.0.1",
        "CLICKTRAIL_API_PORT": str(port),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "clicktrail.servers", "api"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/health", server)
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise


def _wait_healthy(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            assert server.stdout is not None
            pytest.fail(f"the API server exited:\n{server.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    pytest.fail("the API server did not answer /health within 60 s")


def _install_audit() -> None:
    """`npm ci` once; the folder's node_modules is reused until the lock file changes."""
    installed = AUDIT / "node_modules" / ".package-lock.json"
    lock = AUDIT / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    assert NPM is not None
    subprocess.run([NPM, "ci", "--no-audit", "--no-fund"], cwd=AUDIT, check=True, timeout=300)


def test_the_api_passes_the_graphql_over_http_audit(api_url: str, workspace: NewWorkspace):
    _install_audit()
    assert NODE is not None
    audit = subprocess.run(
        [NODE, "audit.mjs", api_url],
        cwd=AUDIT,
        env={**os.environ, "GRAPHQL_AUTHORIZATION": f"Bearer {workspace.admin_api_key}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    print(audit.stdout)
    assert audit.returncode == 0, audit.stdout + audit.stderr
