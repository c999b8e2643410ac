"""A TCP proxy in front of the test database, to take it away and bring it back.

A real outage as the API sees it: connections refused, connections cut mid-way, then a
database that answers again, without stopping the server other tests share. The proxy runs
its own event loop in a thread: the test client blocks the test's loop while a request runs.
"""

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from sqlalchemy import make_url

T = TypeVar("T")


class DatabaseProxy:
    def __init__(self, database_url: str) -> None:
        self.target = make_url(database_url)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.StreamWriter] = set()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """The database's URL through the proxy."""
        url = self.target.set(host="127.0.0.1", port=self.port, query={})
        return url.render_as_string(hide_password=False)

    def start(self) -> None:
        """Accept connections (again, on the same port)."""
        self._run(self._start())

    def refuse_new(self) -> None:
        """Refuse new connections; open ones go on working."""
        self._run(self._refuse_new())

    def cut(self) -> None:
        """Refuse new connections and cut the open ones: the database is gone."""
        self._run(self._cut())

    def close(self) -> None:
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    async def _start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _refuse_new(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    async def _cut(self) -> None:
        await self._refuse_new()
        for writer in self.pipes:
            writer.transport.abort()
        self.pipes.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        socket_dir = self.target.query.get("host")
        if isinstance(socket_dir, str) and socket_dir.startswith("/"):
            port = self.target.port or 5432
            upstream = await asyncio.open_unix_connection(f"{socket_dir}/.s.PGSQL.{port}")
        else:
            upstream = await asyncio.open_connection(self.target.host, self.target.port or 5432)
        up_reader, up_writer = upstream
        self.pipes |= {writer, up_writer}
        await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


@contextmanager
def database_proxy(database_url: str) -> Iterator[DatabaseProxy]:
    proxy = DatabaseProxy(database_url)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
