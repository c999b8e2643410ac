"""The GraphQL endpoint over HTTP: Strawberry's Litestar controller, made strict about what
a request may be, and answering every refusal with a GraphQL error body.

Strawberry answers a body that is JSON but not an object (`null`, `"x"`) or not UTF-8, or
variables nested past the interpreter's recursion limit, with a bare 500; its own refusals
(a batch, no query) are plain text. Here the body is decoded by msgspec into the request's
shape, and every refusal is `{"errors": [{"message", "extensions": {"code"}}]}`: 400 for a
request that is not a GraphQL request the API can run, 503 while the database is down.

A client that accepts `application/graphql-response+json` (GraphQL over HTTP) gets that media
type, with the statuses the specification gives it: a request error (the document does not
parse or validate, a variable is refused, a limit is exceeded: errors before execution, which
carry no path) is a 400 without `data`; an executed operation is a 200 whatever its field
errors. Clients asking for `application/json` (or nothing) keep the status codes they had.
"""

import logging
import re
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import timedelta
from http import HTTPStatus
from typing import Any, ClassVar, cast

import msgspec
from cross_web import AsyncHTTPRequestAdapter, HTTPException, LitestarRequestAdapter
from litestar import MediaType, Request, Response
from litestar.background_tasks import BackgroundTasks
from litestar.di import Provide
from litestar.exceptions import HTTPException as LitestarHTTPException
from litestar.exceptions import NotAuthorizedException
from litestar.types import Dependencies
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.litestar import make_graphql_controller
from strawberry.litestar.controller import GraphQLController
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from api.auth import KeyUsage, authenticate
from api.compiled.reads import CompiledReads
from api.context import Context, provide_context
from api.errors import DATABASE_UNAVAILABLE_MESSAGE, ErrorCode, coded
from api.limits import variables_problem
from api.loaders import create_loaders
from api.multipart import (
    MAX_MULTIPART_BYTES,
    json_body,
    multipart_request,
    place_file,
)
from api.outage import DatabaseOutage
from models.logs import request_id
from models.unavailable import RETRY_AFTER_S, connection_lost

logger = logging.getLogger(__name__)

# Websockets: server pings, the wait for connection_init, and operations per connection.
KEEP_ALIVE_S = 20.0
CONNECTION_INIT_WAIT_S = 10
MAX_SUBSCRIPTIONS_PER_CONNECTION = 10
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
# An Accept header past this is read no further (servers cap the whole header anyway).
_MAX_ACCEPT_CHARS = 4_096
# RFC 9110's qvalue: 0 to 1 with at most three decimals; anything else drops its entry.
_QVALUE = re.compile(r"(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)")
# Whether the request being answered asked for application/graphql-response+json (each request
# runs in its own task; the controller instance is shared by all).
_wants_graphql_response: ContextVar[bool] = ContextVar("wants_graphql_response", default=False)


class _Body(msgspec.Struct, rename="camel"):
    """A GraphQL-over-HTTP request body; unknown members are ignored."""

    query: str | None = None
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    extensions: dict[str, Any] | None = None


_decode_body = msgspec.json.Decoder(_Body | list[Any]).decode
_decode_json = msgspec.json.Decoder().decode


def graphql_controller(
    schema: BaseSchema,
    *,
    graphiql: bool,
    compiled: CompiledReads | None = None,
    allowed_origins: Sequence[str] = (),
) -> type[GraphQLController]:
    """The controller; ``compiled`` answers the documents it compiles, the schema the rest."""
    base = make_graphql_controller(
        schema,
        path="/graphql",
        context_getter=provide_context,
        graphql_ide="graphiql" if graphiql else None,
        # Subscriptions only (api.live): queries and mutations over a websocket would be a way
        # around the HTTP rate limit, so the schema refuses them there (api.transport).
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        # Server pings keep idle feeds open through proxies that close silent connections.
        keep_alive=True,
        keep_alive_interval=KEEP_ALIVE_S,
        connection_init_wait_timeout=timedelta(seconds=CONNECTION_INIT_WAIT_S),
        max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
        # Pages on the API's own origin (the dashboard) may always connect.
        allowed_origins=allowed_origins,
        # uploadConversions takes its file by the GraphQL multipart request spec (api.multipart).
        multipart_uploads_enabled=True,
    )

    class Controller(base):  # type: ignore[valid-type, misc]
        # What a multipart upload may be; a JSON body is held to MAX_BODY_BYTES by json_body.
        request_max_body_size = MAX_MULTIPART_BYTES
        # Strawberry builds each request's sub-response in a worker thread (a sync dependency
        # with sync_to_thread): ~12% of a compiled page's Python time went to the hand-off.
        dependencies: ClassVar[Dependencies] = {
            **base.dependencies,
            "response": Provide(_sub_response),
        }

        async def on_ws_connect(self, context: Context) -> UnsetType:
            """Authenticates the websocket by the key its connection_init payload carries:
            `{"Authorization": "Bearer <key>"}` (or `{"apiKey": "<key>"}`); refused with
            4403 otherwise."""
            params = context.connection_params or {}
            authorization = params.get("Authorization", params.get("authorization"))
            if authorization is None and isinstance(params.get("apiKey"), str):
                authorization = f"Bearer {params['apiKey']}"
            if not isinstance(authorization, str) or "\x00" in authorization:
                raise ConnectionRejectionError({"message": "send the API key in connection_init"})
            assert context.websocket is not None
            state = context.websocket.app.state
            try:
                principal = await authenticate(state.engine, state.key_directory, authorization)
            except NotAuthorizedException as error:
                raise ConnectionRejectionError({"message": error.detail}) from None
            key_usage: KeyUsage = state.key_usage
            await key_usage.record(state.engine, principal)
            context.principal = principal
            context.loaders = create_loaders(state.engine, principal.workspace_id)
            return cast(UnsetType, UNSET)

        def encode_json(self, data: object) -> bytes:
            # json.dumps spends ~10 ms on the answer of a 1,000-row report, msgspec ~1 ms. It
            # writes UTF-8 rather than \u escapes, and null for NaN where json wrote NaN
            # (which is no JSON); GraphQL's own Float never holds one.
            return msgspec.json.encode(data)

        def decode_json(self, data: str | bytes) -> object:
            # Variables of a GET; msgspec refuses invalid UTF-8 and lone surrogates.
            return _decode_json(data)

        def parse_json(self, data: str | bytes) -> object:
            try:
                return self.decode_json(data)
            except (msgspec.DecodeError, RecursionError) as error:
                raise HTTPException(400, f"the variables are not JSON: {_reason(error)}") from None

        async def parse_http_body(
            self, request: AsyncHTTPRequestAdapter
        ) -> GraphQLRequestData | list[GraphQLRequestData]:
            content_type, _ = parse_content_type(request.content_type or "")
            litestar_request = cast(LitestarRequestAdapter, request).request
            if request.method == "POST" and "application/json" in content_type:
                parsed = parse_request_body(await json_body(litestar_request))
            elif request.method == "POST" and content_type == "multipart/form-data":
                multipart = await multipart_request(litestar_request)
                parsed = parse_request_body(multipart.operations.encode())
                parsed.variables = place_file(parsed.variables, multipart.path, multipart.file)
            else:
                parsed = await super().parse_http_body(request)
            for data in parsed if isinstance(parsed, list) else [parsed]:
                problem = variables_problem(data.variables)
                if problem is not None:
                    raise HTTPException(400, problem)
            return parsed

        async def process_result(
            self, request: Request[Any, Any, Any], result: ExecutionResult
        ) -> GraphQLHTTPResponse:
            if result.errors:
                result.errors = [coded(error) for error in result.errors]
            response: GraphQLHTTPResponse = await super().process_result(request, result)
            errors = response.get("errors")
            if errors:
                response["errors"] = [_with_request_id(error) for error in errors]
            return response

        def create_response(
            self,
            response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
            sub_response: Response[bytes],
        ) -> Response[bytes]:
            if _wants_graphql_response.get() and isinstance(response_data, dict):
                return self._graphql_response(response_data, sub_response)
            if isinstance(response_data, dict) and response_data.get("errors"):
                status = _status(response_data)
                if status is not None:
                    sub_response.status_code = status
                    if status == HTTPStatus.SERVICE_UNAVAILABLE:
                        sub_response.headers["Retry-After"] = str(RETRY_AFTER_S)
            response: Response[bytes] = super().create_response(response_data, sub_response)
            return response

        def _graphql_response(
            self, response_data: GraphQLHTTPResponse, sub_response: Response[bytes]
        ) -> Response[bytes]:
            errors = response_data.get("errors") or []
            if response_data.get("data") is None and errors:
                if not any(isinstance(error, dict) and "path" in error for error in errors):
                    # A request error: nothing was executed, so there is no `data` at all.
                    response_data = {k: v for k, v in response_data.items() if k != "data"}  # type: ignore[assignment]
                    sub_response.status_code = HTTPStatus.BAD_REQUEST
                if _status(response_data) == HTTPStatus.SERVICE_UNAVAILABLE:
                    sub_response.status_code = HTTPStatus.SERVICE_UNAVAILABLE
                    sub_response.headers["Retry-After"] = str(RETRY_AFTER_S)
            response: Response[bytes] = super().create_response(response_data, sub_response)
            response.media_type = GRAPHQL_RESPONSE_JSON
            return response

        async def execute_single(
            self,
            request: Request[Any, Any, Any],
            request_adapter: AsyncHTTPRequestAdapter,
            sub_response: Response[bytes],
            context: Context,
            root_value: None,
            request_data: GraphQLRequestData,
        ) -> ExecutionResult:
            if compiled is not None and request_data.query is not None:
                result = await compiled.execute(
                    request_data.query,
                    request_data.operation_name,
                    request_data.variables,
                    context,
                )
                if result is not None:
                    return result
            result_: ExecutionResult = await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
            return result_

        async def execute_request(
            self, request: Request[Any, Any, Any], context: Context, root_value: None
        ) -> Response[Any]:
            wants = wants_graphql_response(request.headers.get("accept"))
            _wants_graphql_response.set(wants)
            try:
                response: Response[Any] = await self.run(
                    request, context=context, root_value=root_value
                )
            except HTTPException as error:
                refusal = error_response(error.reason, status=error.status_code)
                if wants:
                    refusal.media_type = GRAPHQL_RESPONSE_JSON
                return refusal
            return response

    return Controller


def wants_graphql_response(accept: str | None) -> bool:
    """Whether a request with this Accept header gets `application/graphql-response+json`: it
    names that type with a weight above 0 and at least that of `application/json`. Wildcards
    alone (`*/*`, a browser's fetch) keep `application/json`, as older clients expect."""
    if not accept:
        return False
    weights: dict[str, float] = {}
    for entry in accept[:_MAX_ACCEPT_CHARS].split(","):
        media_type, *parameters = entry.split(";")
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()
                weight = float(value) if _QVALUE.fullmatch(value) else -1.0
        media_type = media_type.strip().lower()
        if weight >= 0 and media_type in (
            GRAPHQL_RESPONSE_JSON,
            "application/json",
            "application/*",
            "*/*",
        ):
            weights[media_type] = max(weight, weights.get(media_type, 0.0))
    if weights.get(GRAPHQL_RESPONSE_JSON, 0.0) <= 0:
        return False
    json_weight = weights.get(
        "application/json", weights.get("application/*", weights.get("*/*", 0.0))
    )
    return weights[GRAPHQL_RESPONSE_JSON] >= json_weight


async def _sub_response() -> Response[Any]:
    """Where a request's resolvers set status and headers: strawberry's, built in the loop."""
    return Response({}, background=BackgroundTasks([]))


def parse_request_body(body: bytes) -> GraphQLRequestData:
    """The request in a JSON body; HTTPException 400 for one the API does not run."""
    try:
        decoded = _decode_body(body)
    except (msgspec.DecodeError, RecursionError) as error:
        raise HTTPException(400, f"the body is not a GraphQL request: {_reason(error)}") from None
    if isinstance(decoded, list):
        raise HTTPException(400, "batching is not enabled: send one operation per request")
    return GraphQLRequestData(
        query=decoded.query,
        variables=decoded.variables,
        operation_name=decoded.operation_name,
        extensions=decoded.extensions,
    )


def _reason(error: Exception) -> str:
    if isinstance(error, RecursionError):
        return "it nests too deeply"
    # msgspec says what and where: "Expected `str | null`, got `int` - at `$.query`".
    return str(error)


def _status(response: GraphQLHTTPResponse) -> int | None:
    codes = {
        (error.get("extensions") or {}).get("code")
        for error in response.get("errors") or ()
        if isinstance(error, dict)
    }
    if ErrorCode.DATABASE_UNAVAILABLE in codes:
        return HTTPStatus.SERVICE_UNAVAILABLE
    if ErrorCode.BAD_REQUEST in codes and response.get("data") is None:
        return HTTPStatus.BAD_REQUEST
    return None


def error_response(
    message: str,
    *,
    status: int,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    """A GraphQL error body for a request refused before GraphQL runs."""
    if code is None:
        code = ErrorCode.NOT_FOUND if status == HTTPStatus.NOT_FOUND else ErrorCode.BAD_REQUEST
    return Response(
        {"errors": [_with_request_id({"message": message, "extensions": {"code": code}})]},
        status_code=status,
        headers=headers,
        media_type=MediaType.JSON,
    )


def _with_request_id(error: object) -> object:
    """The formatted error with `extensions.requestId`, the request's id in the logs. A new
    `extensions` dict: the formatted error shares its error's, which caches may hold."""
    rid = request_id.get()
    if rid is None or not isinstance(error, dict):
        return error
    return {**error, "extensions": {**(error.get("extensions") or {}), "requestId": rid}}


def http_refusal(
    request: Request[Any, Any, Any], error: LitestarHTTPException
) -> Response[dict[str, object]]:
    """Litestar's own 4xx body (a wrong path or method, a missing API key), with the request
    id of the log lines about it."""
    body: dict[str, object] = {"status_code": error.status_code, "detail": error.detail}
    if error.extra:
        body["extra"] = error.extra
    rid = request_id.get()
    if rid is not None:
        body["request_id"] = rid
    return Response(
        body, status_code=error.status_code, headers=error.headers, media_type=MediaType.JSON
    )


def server_error(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """Litestar's handler for what would be a 500: a database outage is a 503 the client should
    retry, anything else is logged with its traceback (Litestar logs nothing by default)."""
    if connection_lost(error):
        outage: DatabaseOutage = request.app.state.database_outage
        outage.failed(error)
        return error_response(
            DATABASE_UNAVAILABLE_MESSAGE,
            status=HTTPStatus.SERVICE_UNAVAILABLE,
            code=ErrorCode.DATABASE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    logger.error(
        "unexpected error answering %s %s", request.method, request.url.path, exc_info=error
    )
    return error_response(
        "Unexpected error.",
        status=HTTPStatus.INTERNAL_SERVER_ERROR,
        code=ErrorCode.INTERNAL_SERVER_ERROR,
    )
