"""A postback receiver on a real socket, for the forwarder's tests and benchmark.

HTTP/1.1 with keep-alive, bodies by Content-Length (what the forwarder sends). What it answers
depends on the first path segment: /ok (200), /fail (500), /hang (never answers),
/redirect?to=URL (302 to URL), /big (a 1 MiB answer). It keeps every request it answered, and
counts event ids (the `ev` query or body parameter) so a benchmark can tell lost and doubled
deliveries.

Run alone (`python -m bench.receiver --port N`, as bench/forwarding.py does, so that its CPU is
not the benchmark's), it answers two more paths with JSON: /_stats (distinct event ids and
requests so far) and /_arrivals (each event id's count and first arrival, Unix time).
"""

import argparse
import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True, slots=True)
class Received:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def params(self) -> dict[str, str]:
        query = urlsplit(self.target).query
        source = self.body.decode() if self.method == "POST" else query
        return {k: v[0] for k, v in parse_qs(source, keep_blank_values=True).items()}


@dataclass
class Receiver:
    host: str = "127.0.0.1"
    port: int = 0
    keep: bool = True
    received: list[Received] = field(default_factory=list)
    event_ids: Counter[str] = field(default_factory=Counter)
    # When each event id first arrived (wall clock, comparable with the database's).
    first_seen: dict[str, float] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    _transports: set[asyncio.Transport] = field(default_factory=set)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    async def __aenter__(self) -> "Receiver":
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Protocol(self), self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        # Hanging requests keep their connections open: closed here, or wait_closed waits.
        for transport in list(self._transports):
            transport.close()
        await self._server.wait_closed()

    def record(self, request: Received) -> None:
        if self.keep:
            self.received.append(request)
        event_id = request.params.get("ev")
        if event_id is not None:
            self.event_ids[event_id] += 1
            self.first_seen.setdefault(event_id, time.time())
        self.arrived.set()

    async def wait_for(self, count: int, timeout_s: float = 10.0) -> None:
        async with asyncio.timeout(timeout_s):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()


_BIG = b"x" * (1 << 20)


class _Protocol(asyncio.Protocol):
    def __init__(self, receiver: Receiver) -> None:
        self._receiver = receiver
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self._transport = cast(asyncio.Transport, transport)
        self._receiver._transports.add(self._transport)

    def connection_lost(self, exc: Exception | None) -> None:
        assert self._transport is not None
        self._receiver._transports.discard(self._transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            head_end = self._buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            lines = self._buffer[:head_end].decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            end = head_end + 4 + length
            if len(self._buffer) < end:
                return
            body = self._buffer[head_end + 4 : end]
            self._buffer = self._buffer[end:]
            self._answer(Received(method, target, headers, body))

    def _answer(self, request: Received) -> None:
        assert self._transport is not None
        kind = request.target.split("?")[0].strip("/").split("/")[0]
        if kind in ("_stats", "_arrivals"):
            self._send("200 OK", "Content-Type: application/json\r\n", self._report(kind))
            return
        if kind == "hang":
            self._receiver.record(request)
            return
        status, extra, body = "200 OK", "", b"OK"
        if kind == "fail":
            status, body = "500 Internal Server Error", b"database down"
        elif kind == "redirect":
            to = parse_qs(urlsplit(request.target).query)["to"][0]
            status, extra, body = "302 Found", f"Location: {to}\r\n", b""
        elif kind == "big":
            body = _BIG
        self._receiver.record(request)
        self._send(status, extra, body)

    def _send(self, status: str, extra: str, body: bytes) -> None:
        assert self._transport is not None
        self._transport.write(
            f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body
        )

    def _report(self, kind: str) -> bytes:
        ids = self._receiver.event_ids
        if kind == "_stats":
            return json.dumps({"distinct": len(ids), "requests": ids.total()}).encode()
        seen = self._receiver.first_seen
        return json.dumps({i: [n, seen[i]] for i, n in ids.items()}).encode()


async def serve(host: str, port: int) -> None:
    async with Receiver(host, port, keep=False):
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="A postback receiver counting event ids.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.host, args.port))
    else:
        uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
