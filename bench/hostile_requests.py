"""How long the API takes to answer the worst requests we could construct, and how long
`/health` waits meanwhile.

    PYTHONPATH=. .venv/bin/python bench/hostile_requests.py [--repeat 30]

Runs the API app in-process (ASGI, one event loop: a worker), on a fresh database of
DATABASE_URL's server (default postgresql://postgres@127.0.0.1:5432/postgres), dropped at the
end. Each case is sent `--repeat` times after one warm-up, one at a time, while a second task
asks for `/health` every 5 ms: its p99 says how long a case blocks the other requests of the
worker. Prints each case's p50/p99 and what the API answered.

Documents stay under the default token limit (2,000): fragments spreading the next one twice
(2^190 fields expanded), long chains and dense webs of fragments, wide and deep selections,
aliases, directives, variables, literals; then hostile bodies and variables.
"""

import argparse
import asyncio
import json
import os
import secrets
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from graphql import get_introspection_query
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker

from api.app import create_app
from api.workspaces.service import create_workspace
from models.database import create_engine
from models.migrate import upgrade
from models.settings import Settings

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes


def _json(query: str, variables: dict[str, Any] | None = None, **extra: Any) -> bytes:  # noqa: ANN401
    return json.dumps({"query": query, "variables": variables, **extra}).encode()


def _doubling(levels: int, leaf: str = "id") -> str:
    fragments = " ".join(
        f"fragment F{i} on Workspace {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"{{ workspace {{ ...F0 }} }} {fragments} fragment F{levels} on Workspace {{ {leaf} }}"


def _doubling_with_fields(levels: int) -> str:
    fragments = " ".join(
        f"fragment F{i} on Workspace {{ id name ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"{{ workspace {{ ...F0 }} }} {fragments} fragment F{levels} on Workspace {{ id }}"


def _chain(levels: int) -> str:
    fragments = " ".join(f"fragment F{i} on Workspace {{ ...F{i + 1} }}" for i in range(levels))
    return f"{{ workspace {{ ...F0 }} }} {fragments} fragment F{levels} on Workspace {{ id }}"


def _dense(count: int) -> str:
    """Each fragment spreads every one before it."""
    fragments = ["fragment F0 on Workspace { id }"]
    for i in range(1, count):
        spreads = " ".join(f"...F{j}" for j in range(i))
        fragments.append(f"fragment F{i} on Workspace {{ {spreads} }}")
    return f"{{ workspace {{ ...F{count - 1} }} }} " + " ".join(fragments)


def _siblings(count: int) -> str:
    """Many fragments spread side by side, each selecting the same fields (pairs to merge)."""
    spreads = " ".join(f"...F{i}" for i in range(count))
    fragments = " ".join(f"fragment F{i} on Workspace {{ id name }}" for i in range(count))
    return f"{{ workspace {{ {spreads} }} }} {fragments}"


def _deep(levels: int) -> str:
    return (
        "{ clicks { nodes { "
        + "transactions { click { " * levels
        + "id"
        + " } }" * levels
        + " } } }"
    )


def cases() -> list[Case]:
    filter_630k = {"or": [{"or": [{"or": [{"countries": ["DE"]}] * 30}] * 30}] * 30}
    largest_filter = {
        "or": [{"countries": ["DE"] * 50, "subs": [{"index": 1, "values": ["a"] * 47}]}] * 49,
        "oses": ["x"] * 49,
    }
    aliased = " ".join(f"a{i}: clicks(filter: $f) {{ nodes {{ id }} }}" for i in range(30))
    return [
        Case("doubling fragments, 24 levels (the issue's)", _json(_doubling(24))),
        Case("doubling fragments, 190 levels", _json(_doubling(190))),
        Case("doubling fragments, 17 levels (runs)", _json(_doubling(17))),
        Case("doubling fragments with fields, 150 levels", _json(_doubling_with_fields(150))),
        Case("chain of 150 fragments (runs)", _json(_chain(150))),
        Case("chain of 240 fragments", _json(_chain(240))),
        Case("dense web of 40 fragments", _json(_dense(40))),
        Case("190 sibling fragments", _json(_siblings(190))),
        Case("1,900 fields", _json("{ workspace { " + "id " * 1_900 + "} }")),
        Case(
            "600 aliases",
            _json("{ workspace { " + " ".join(f"a{i}: id" for i in range(600)) + " } }"),
        ),
        Case("600 conflicting aliases", _json("{ workspace { " + "a: id a: name " * 300 + "} }")),
        Case("nesting to the parser's limit", _json(_deep(48))),
        Case(
            "150 named operations",
            _json(
                " ".join(f"query Q{i} {{ workspace {{ id }} }}" for i in range(150)),
                operationName="Q1",
            ),
        ),
        Case(
            "a directive 250 times",
            _json("{ workspace { id " + "@include(if: true) " * 250 + "} }"),
        ),
        Case(
            "300 variable definitions",
            _json(
                "query (" + " ".join(f"$v{i}: Int" for i in range(300)) + ") { workspace { id } }"
            ),
        ),
        Case(
            "a list literal 190 deep",
            _json(
                "{ clicks(filter: {countries: "
                + "[" * 190
                + '"DE"'
                + "]" * 190
                + "}) { nodes { id } } }"
            ),
        ),
        Case(
            "900 filter objects in a literal",
            _json("{ clicks(filter: {or: [" + "{}" * 900 + "]}) { nodes { id } } }"),
        ),
        Case("introspection (GraphiQL's)", _json(get_introspection_query(descriptions=True))),
        Case("1 MB of comment", _json("#" + "x" * 1_000_000 + "\n{ workspace { id } }")),
        Case(
            "630 kB filter variable (the issue's)",
            _json(
                "query ($f: ClickFilter) { clicks(filter: $f) { nodes { id } } }",
                {"f": filter_630k},
            ),
        ),
        Case(
            "largest filter allowed (runs)",
            _json(
                "query ($f: ClickFilter) { clicks(filter: $f) { nodes { id } } }",
                {"f": largest_filter},
            ),
        ),
        Case(
            "a 49-filter variable in 31 aliases",
            _json(
                f"query ($f: ClickFilter) {{ {aliased} clicks(filter: $f) {{ nodes {{ id }} }} }}",
                {"f": {"or": [{"countries": ["DE"]}] * 49}},
            ),
        ),
        Case(
            "1 MB time zone",
            _json(
                "query ($tz: String) { report(timezone: $tz) { totalRows } }",
                {"tz": "x" * 1_000_000},
            ),
        ),
        Case(
            "variables nested 5,000 deep",
            b'{"query": "{ workspace { id } }", "variables": {"v": '
            + b"[" * 5_000
            + b"]" * 5_000
            + b"}}",
        ),
        Case("a body of null", b"null"),
    ]


@asynccontextmanager
async def api_client(server_url: str) -> AsyncIterator[httpx.AsyncClient]:
    name = f"clicktrail_bench_hostile_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        settings = Settings(database_url=url, _env_file=None, api_rate_limit_per_minute=0)
        engine = create_engine(url, settings, application_name="bench-hostile")
        await upgrade(engine)
        async with async_sessionmaker(engine)() as session:
            workspace = await create_workspace(session, name="Bench", timezone="Europe/Berlin")
            await session.commit()
        await engine.dispose()
        app = create_app(settings)
        async with app.lifespan():
            # In-process: one event loop, as in a worker.
            transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                client.headers["Authorization"] = f"Bearer {workspace.admin_api_key}"
                yield client
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run(repeat: int, server_url: str) -> None:
    async with api_client(server_url) as client:
        health: list[float] = []
        stop = asyncio.Event()

        async def probe() -> None:
            while not stop.is_set():
                started = time.perf_counter()
                await client.get("/health")
                health.append(time.perf_counter() - started)
                await asyncio.sleep(0.005)

        print(f"{'case':48} {'p50':>9} {'p99':>9} {'health p99':>11}  answer")
        for case in cases():
            await _send(client, case)
            health.clear()
            prober = asyncio.create_task(probe())
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                answer = await _send(client, case)
                times.append(time.perf_counter() - started)
            stop.set()
            await prober
            stop.clear()
            print(
                f"{case.name:48} {_ms(statistics.median(times))} {_ms(_p99(times))} "
                f"{_ms(_p99(health) if health else 0.0):>11}  {answer}"
            )


async def _send(client: httpx.AsyncClient, case: Case) -> str:
    response = await client.post(
        "/graphql", content=case.body, headers={"Content-Type": "application/json"}
    )
    body = response.json()
    errors = body.get("errors") or []
    codes = sorted({str((error.get("extensions") or {}).get("code")) for error in errors})
    return f"{response.status_code} {','.join(codes) or 'data'}"


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL", DEFAULT_SERVER)
    asyncio.run(run(args.repeat, server_url))


if __name__ == "__main__":
    main()
