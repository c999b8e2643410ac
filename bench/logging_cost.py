"""CPU per API request with the access log on and off, in both log formats.

    PYTHONPATH=. .venv/bin/python bench/logging_cost.py [--requests 500] [--rounds 15]

In-process: the API app is called as ASGI (no HTTP client or server around it), on the bench
database of bench/api_setup.py (run bench/api_reads.py once to load it), for `GET /health` and
for a compiled GraphQL page of 100 clicks. Each round sends `--requests` requests to an app with
the access log on and to one with it off; CPU is `time.process_time`, so the threads that write
the log count too. The log goes to a temporary file (stdout and stderr are pointed there while
the requests run) whose lines are counted, so a run shows the lines were written. Prints the
median over rounds of the CPU per request, and of the difference on - off of each round.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
from litestar import Litestar
from sqlalchemy import make_url

from api.app import create_app
from bench.api_setup import DATABASE, DEFAULT_SERVER, _mint_api_key
from models.database import create_engine
from models.settings import Settings

KEY_NAME = "bench-logging"
PAGE = (
    "{ clicks(first: 100) { nodes { id createdAt country deviceType os browser subs cost "
    "conversions { type txid status amount createdAt } } } }"
)
Send = Callable[[dict[str, Any]], Awaitable[None]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=500, help="requests per round and app")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    server = os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    url = make_url(server).set(database=DATABASE).render_as_string(hide_password=False)
    asyncio.run(run(url, requests=args.requests, rounds=args.rounds))


async def run(url: str, *, requests: int, rounds: int) -> None:
    # No rate limit: the bench sends thousands of requests with one key.
    settings = Settings(database_url=url, api_rate_limit_per_minute=0, _env_file=None)
    engine = create_engine(url, settings, application_name="clicktrail-bench-logging")
    try:
        api_key = await _mint_api_key(engine, 1, KEY_NAME)
    finally:
        await engine.dispose()
    body = msgspec.json.encode({"query": PAGE})
    auth = (b"authorization", f"Bearer {api_key}".encode())
    cases = {
        "health": _scope("GET", "/health", []),
        "page": _scope("POST", "/graphql", [auth, (b"content-type", b"application/json")]),
    }
    print(f"{requests} requests per round and app, {rounds} rounds; CPU per request, median")
    for log_format in ("text", "json"):
        apps = {
            on: create_app(
                settings.model_copy(update={"log_format": log_format, "api_access_log": on})
            )
            for on in (True, False)
        }
        stops = await asyncio.gather(*(_start(app) for app in apps.values()))
        for case, scope in cases.items():
            cpu: dict[bool, list[float]] = {True: [], False: []}
            with _log_sink() as lines:
                for app in apps.values():  # warm-up: caches, pools, compiled plans
                    await _requests(app, scope, body, 50)
                for _ in range(rounds):
                    for on, app in apps.items():
                        started = time.process_time()
                        await _requests(app, scope, body, requests)
                        cpu[on].append((time.process_time() - started) / requests * 1e6)
                await asyncio.sleep(0.5)  # let the writer drain before the lines are counted
                written = lines()
            on_us, off_us = (statistics.median(cpu[on]) for on in (True, False))
            # Rounds in pairs, on then off: the difference of a pair shares the machine's load.
            log_us = statistics.median(a - b for a, b in zip(cpu[True], cpu[False], strict=True))
            print(
                f"{log_format:<4} {case:<6} on {on_us:7.1f} us  off {off_us:7.1f} us  "
                f"log {log_us:6.1f} us/request  ({written} lines written)",
                flush=True,
            )
        await asyncio.gather(*(stop() for stop in stops))


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8001),
    }


async def _requests(app: Litestar, scope: dict[str, Any], body: bytes, count: int) -> None:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    for _ in range(count):
        await app(dict(scope), receive, send)  # type: ignore[arg-type]
        if status != 200:
            raise SystemExit(f"{scope['path']} answered {status}")


async def _start(app: Litestar) -> Callable[[], Awaitable[None]]:
    """Runs the app's startup as a server would; returns what runs its shutdown."""
    messages: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    answers: asyncio.Queue[str] = asyncio.Queue()

    async def send(message: dict[str, Any]) -> None:
        await answers.put(message["type"])

    await messages.put({"type": "lifespan.startup"})
    task = asyncio.create_task(app({"type": "lifespan"}, messages.get, send))  # type: ignore[arg-type]
    if (answer := await answers.get()) != "lifespan.startup.complete":
        raise SystemExit(f"startup failed: {answer}")

    async def stop() -> None:
        await messages.put({"type": "lifespan.shutdown"})
        await task

    return stop


@contextmanager
def _log_sink() -> Iterator[Callable[[], int]]:
    """stdout and stderr into a temporary file; yields a count of its lines."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield lambda: os.pread(sink.fileno(), 1 << 30, 0).count(b"\n")
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


if __name__ == "__main__":
    main()
