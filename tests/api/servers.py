"""API processes on real sockets, for clients a test client cannot stand in for (websockets
across processes, a browser)."""

import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import pytest

from models.settings import Settings
from tests.clicktrail.test_cli import _free_port


@contextmanager
def api_process(settings: Settings, **env_changes: str) -> Iterator[str]:
    """An API process (granian, one worker) on a free port; yields its ws:// URL."""
    assert settings.database_url is not None
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLICKTRAIL_")}
    env.pop("DATABASE_URL", None)
    env |= {
        "CLICKTRAIL_DATABASE_URL": settings.database_url,
        "CLICKTRAIL_HOST": "127.0.0.1",
        "CLICKTRAIL_API_PORT": str(port),
        "CLICKTRAIL_WORKERS": "1",
        **env_changes,
    }
    # Its output goes to a file: a pipe nobody reads while it runs would stall a chatty server.
    with tempfile.TemporaryFile(mode="w+") as output:
        yield from _served(port, env, output)


def _served(port: int, env: dict[str, str], output: IO[str]) -> Iterator[str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "clicktrail.servers", "api"],
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                output.seek(0)
                pytest.fail(f"the API server exited:\n{output.read()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    break
            except (OSError, urllib.error.URLError):
                assert time.monotonic() < deadline, "the API server did not answer /health"
                time.sleep(0.2)
        yield f"ws://127.0.0.1:{port}/graphql"
    finally:
        server.terminate()
        server.wait(timeout=30)
