"""Compiled documents answered in front of the GraphQL controller, key check included.

Through the controller a compiled page of 100 clicks cost ~1.4 ms of the server's CPU and
two statements: Litestar resolving the controller's dependencies (the request's session, the
context and its DataLoaders) and Strawberry's request and response handling took about a
third of it, and the API key was read by a statement of its own before the page's.

This is a middleware of the controller, so a request gets here after routing, the rate limit,
the request id and CORS, as every request does. A POST of JSON whose document compiles, from
a key whose workspace the key directory already holds, is answered by the page's statement
with the key's check folded in (`CompiledReads.execute_keyed`): the key read as the key
lookup reads it, the page built only when the key may read. A document of reports only has
its key read by that condition alone first; its reports run as inside the controller
(api.compiled.report). The body is what the controller would send for the same result: the
same JSON encoding and media type, status 200.

Everything else goes on to the controller, with the body replayed, and gets the answer it
gets today: GET and multipart requests, documents that do not compile, variables the
compiled path refuses, a key the directory does not hold yet (the controller's lookup adds
it), an unknown, revoked or read-less key, and any database error (during an outage the
controller's key lookup answers the request-level 503). A report the door gave up on (its
refusal, a figure GraphQL's Int cannot hold) is not run on the compiled path again
(api.compiled.attempt).
"""

import msgspec
from cross_web import HTTPException
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from api.auth import KeyDirectory, KeyUsage, bearer_token
from api.compiled.attempt import COMPILED_ATTEMPT, Attempt
from api.compiled.reads import CompiledReads
from api.http import GRAPHQL_RESPONSE_JSON, parse_request_body, wants_graphql_response
from api.limits import variables_problem
from api.multipart import MAX_BODY_BYTES
from api.outage import DatabaseOutage
from api.workspaces.credentials import hash_api_key
from models.database import DATABASE_ERRORS

_JSON = b"application/json"
# The request headers read here; a request that repeats one goes to the controller.
_READ_HEADERS = frozenset({b"authorization", b"accept", b"content-type"})


class CompiledDoor:
    def __init__(self, app: ASGIApp, reads: CompiledReads) -> None:
        self.app = app
        self.reads = reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if headers is None or _media_type(headers.get(b"content-type", b"")) != _JSON:
            await self.app(scope, receive, send)
            return
        messages, body = await _read_body(receive)
        attempt = Attempt()
        answer = (
            None if body is None else await self._answer(scope["app"].state, headers, body, attempt)
        )
        if answer is None:
            if attempt.reports_run:
                scope.setdefault("state", {})[COMPILED_ATTEMPT] = attempt
            await self.app(scope, _replay(messages, receive), send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", answer[0]),
                    (b"content-length", str(len(answer[1])).encode("ascii")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer[1], "more_body": False})

    async def _answer(
        self, state: State, headers: dict[bytes, bytes], body: bytes, attempt: Attempt
    ) -> tuple[bytes, bytes] | None:
        """The media type and body of the answer, or None."""
        token = bearer_token(headers.get(b"authorization", b"").decode("latin-1"))
        if token is None:
            return None
        secret_hash = hash_api_key(token)
        directory: KeyDirectory = state.key_directory
        workspace_id = directory.cached(secret_hash)
        if workspace_id is None:
            return None
        try:
            request = parse_request_body(body)
        except HTTPException:
            return None
        if request.query is None or variables_problem(request.variables) is not None:
            return None
        answered = await self.reads.execute_keyed(
            request.query,
            request.operation_name,
            request.variables,
            engine=state.engine,
            workspace_id=workspace_id,
            secret_hash=secret_hash,
            report_timeout_ms=state.settings.report_timeout_ms,
            attempt=attempt,
        )
        if answered is None:
            return None
        response, principal = answered
        key_usage: KeyUsage = state.key_usage
        try:
            await key_usage.record(state.engine, principal)
        except DATABASE_ERRORS:
            return None
        outage: DatabaseOutage = state.database_outage
        outage.answered()
        accept = headers.get(b"accept")
        wants = wants_graphql_response(None if accept is None else accept.decode("latin-1"))
        media_type = GRAPHQL_RESPONSE_JSON.encode() if wants else _JSON
        return media_type, msgspec.json.encode(response)


def _media_type(content_type: bytes) -> bytes:
    return content_type.partition(b";")[0].strip().lower()


def _headers(scope: Scope) -> dict[bytes, bytes] | None:
    """The request headers read here, or None when one of them is repeated."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in _READ_HEADERS:
            if name in found:
                return None
            found[name] = value
    return found


async def _read_body(receive: Receive) -> tuple[list[ReceiveMessage], bytes | None]:
    """The messages read and the whole body; None past MAX_BODY_BYTES or on a disconnect
    (the controller then reads the rest, and refuses)."""
    messages: list[ReceiveMessage] = []
    body = b""
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        body += message.get("body", b"")
        if len(body) > MAX_BODY_BYTES:
            return messages, None
        if not message.get("more_body", False):
            return messages, body


def _replay(messages: list[ReceiveMessage], receive: Receive) -> Receive:
    """``receive`` giving ``messages`` again first."""
    pending = list(messages)

    async def replayed() -> ReceiveMessage:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
