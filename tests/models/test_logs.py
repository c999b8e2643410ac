"""Log lines as the apps write them: both formats, flushed at shutdown, never waited for."""

import asyncio
import io
import json
import logging
import sys
import threading

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app as create_api_app
from models import logs
from models.logs import BatchedLines
from models.settings import Settings

WAIT_S = 10.0


class _BlockedStream(io.StringIO):
    """A stream whose writes wait until it is released, as a pipe nobody reads."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.released = threading.Event()

    def write(self, text: str) -> int:
        self.entered.set()
        self.released.wait(WAIT_S)
        return super().write(text)


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_api_lines_are_written_when_the_app_stops(
    engine, settings: Settings, log_format: str, monkeypatch: pytest.MonkeyPatch
):
    # The writer never wakes on its own here: the lines are there because shutdown flushed them.
    monkeypatch.setattr(logs, "WRITE_EVERY_S", 3600.0)
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    app = create_api_app(settings.model_copy(update={"log_format": log_format}))
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/health", headers={"X-Request-ID": "logs-1"})
        assert response.status_code == 200
        assert stream.getvalue() == ""
    [line] = [line for line in stream.getvalue().splitlines() if "clicktrail.access" in line]
    if log_format == "text":
        assert ' INFO clicktrail.access [logs-1] testclient "GET /health" 200 ' in line
    else:
        parsed = json.loads(line)
        assert parsed["request_id"] == "logs-1"
        assert parsed["logger"] == "clicktrail.access"
        assert parsed["message"].startswith('testclient "GET /health" 200 ')
        assert parsed["http"]["route"] == "/health"
        assert parsed["http"]["status"] == 200


async def test_a_blocked_log_stream_does_not_hold_up_requests(
    engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    stream = _BlockedStream()
    monkeypatch.setattr(sys, "stderr", stream)
    async with AsyncTestClient(app=create_api_app(settings)) as client:
        await client.get("/health", headers={"X-Request-ID": "first"})
        # The writer is now stuck in its write of the first line.
        assert await asyncio.to_thread(stream.entered.wait, WAIT_S)
        for n in range(20):
            response = await asyncio.wait_for(
                client.get("/health", headers={"X-Request-ID": f"blocked-{n}"}), WAIT_S / 2
            )
            assert response.status_code == 200
        assert not stream.released.is_set()
        stream.released.set()
    written = stream.getvalue()
    assert "[first]" in written
    assert all(f"[blocked-{n}]" in written for n in range(20))


def test_lines_past_the_limit_are_counted_and_the_count_is_written(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(logs, "MAX_WAITING_LINES", 5)
    stream = _BlockedStream()
    handler = BatchedLines(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.blocked")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("line 0")
        assert stream.entered.wait(WAIT_S)
        for n in range(1, 9):
            logger.warning("line %d", n)
        stream.released.set()
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
        handler.close()
    assert stream.getvalue().splitlines() == [
        *(f"WARNING line {n}" for n in range(6)),
        "WARNING 3 log lines dropped: the log stream did not take them",
    ]
