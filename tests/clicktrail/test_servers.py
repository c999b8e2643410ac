import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.clicktrail.test_cli import _free_port

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 30.0

# The ingestion service as `serve-ingestion` runs it, with the probe app in place of ours.
SERVE_PROBE = """
import dataclasses
import sys
from clicktrail import servers
from models.settings import Settings

settings = Settings(_env_file=None, ingestion_port=int(sys.argv[1]), workers=1)
probe = dataclasses.replace(servers.INGESTION, app="tests.clicktrail.futures_probe:create_app")
# The forked worker builds its app from this name (clicktrail.servers.ingestion_worker).
servers.INGESTION = probe
servers.run_service(settings, probe)
"""


def test_served_requests_do_not_keep_the_futures_they_awaited():
    # granian's Rust tasks kept every one: a worker grew without end under load.
    with _serving_probe() as base:
        before = _get(f"{base}/futures")
        for _ in range(300):
            assert _get(f"{base}/await") == "ok"
        after = _get(f"{base}/futures")
    assert int(after) - int(before) < 10


@contextmanager
def _serving_probe() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_PROBE, str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                _get(f"{base}/futures")
                break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the probe server did not answer"
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
    return body.decode()
