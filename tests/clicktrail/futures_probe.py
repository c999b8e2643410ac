"""An ASGI app that shows whether the server keeps the futures its requests awaited.

`/await` awaits a future that the loop resolves a moment later, as every request that waits
on the database does; `/futures` answers how many futures are still alive.
"""

import asyncio
import gc
from typing import Any

Scope = dict[str, Any]


async def probe(scope: Scope, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/futures":
        gc.collect()
        body = str(sum(type(o) is asyncio.Future for o in gc.get_objects())).encode()
    else:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(future.set_result, None)
        await future
        body = b"ok"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def create_app() -> Any:
    return probe
