"""`GET|POST /postback/{secret}` and `GET /pixel/{secret}.gif`."""

import base64
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import FromPath, Parameter

from ingestion.clicks.endpoints import CLICK_COOKIE
from ingestion.errors import IngestionError, error_body, not_recorded
from ingestion.group_commit import NotCommittedError
from ingestion.openapi import (
    PIXEL_RESPONSES,
    POSTBACK_POST_RESPONSES,
    POSTBACK_RESPONSES,
    PixelOperation,
    ReportOperation,
)
from ingestion.params import MAX_BODY_BYTES
from ingestion.postbacks.records import Hit, Outcome
from ingestion.postbacks.service import WorkspaceDirectory, prepare
from ingestion.postbacks.signature import HEADER
from ingestion.postbacks.writer import PostbackWriter
from ingestion.visitors import request_ip
from models.database import DATABASE_ERRORS
from models.enums import HitKind, HitOutcome
from models.metrics import POSTBACKS
from models.settings import Settings

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_NO_CACHE = {
    "Cache-Control": "no-store, no-cache, must-revalidate, private",
    "Pragma": "no-cache",
    "Expires": "0",
}
_POSTBACK_DOC = (
    "Reports an event for a click. Parameters (query string, or for POST an "
    "application/x-www-form-urlencoded or flat JSON body): click id `clickid`|`cid`|`subid`|"
    "`click_id`; amount `sum`|`payout`|`revenue`|`amount`; transaction id `txid`|`tid`|"
    "`transaction_id`; type `type`|`et` (default `conversion`; `transaction` for further "
    "steps); `status` (approved, pending, declined, other, or the workspace's aliases); "
    "`currency` (ISO 4217). Answers 200 with `result` accepted, updated or duplicate once the "
    "event is committed; a refusal answers 4xx with a stable `error` code and a `detail`."
)


@get(
    "/postback/{secret:str}",
    summary="S2S postback (GET)",
    description=_POSTBACK_DOC,
    operation_class=ReportOperation,
    responses=POSTBACK_RESPONSES,
)
async def postback_get(
    secret: FromPath[str],
    request: Request[Any, Any, Any],
    state: State,
) -> Response[dict[str, object]]:
    return _json(await _record(secret, request, state, HitKind.POSTBACK, body=None))


@post(
    "/postback/{secret:str}",
    summary="S2S postback (POST)",
    description=_POSTBACK_DOC,
    operation_class=ReportOperation,
    responses=POSTBACK_POST_RESPONSES,
    status_code=200,
    # Litestar stops reading past this (at once for a larger Content-Length), so no body
    # costs more memory than this and one chunk.
    request_max_body_size=MAX_BODY_BYTES,
)
async def postback_post(
    secret: FromPath[str],
    request: Request[Any, Any, Any],
    state: State,
) -> Response[dict[str, object]]:
    body: bytes | None = None
    try:
        body = await request.body()
    except RequestEntityTooLarge:
        # Litestar's own 413 would never reach the postback log: the service refuses it instead.
        too_large = True
    else:
        too_large = False
    hit = await _record(secret, request, state, HitKind.POSTBACK, body=body, too_large=too_large)
    return _json(hit)


@get(
    "/pixel/{filename:str}",
    summary="Conversion pixel",
    description=(
        "`/pixel/{secret}.gif` with the postback's parameters; the click id may come from the "
        "`ct_click` cookie the tracking link set. Always answers a 1x1 GIF with no-cache "
        "headers; the outcome is in the postback log and the `X-Clicktrail-Result` header."
    ),
    media_type="image/gif",
    operation_class=PixelOperation,
    responses=PIXEL_RESPONSES,
)
async def pixel(
    filename: Annotated[
        str, Parameter(description="The workspace's postback secret followed by `.gif`.")
    ],
    request: Request[Any, Any, Any],
    state: State,
) -> Response[bytes]:
    secret = filename.removesuffix(".gif")
    # Even a database failure answers the GIF: a browser cannot retry anyway.
    try:
        outcome = await _record(secret, request, state, HitKind.PIXEL, body=None)
        result = outcome.reason
    except IngestionError as exc:
        result = exc.code
    return Response(
        GIF, media_type="image/gif", headers={**_NO_CACHE, "X-Clicktrail-Result": result}
    )


async def _record(
    secret: FromPath[str],
    request: Request[Any, Any, Any],
    state: State,
    kind: HitKind,
    *,
    body: bytes | None,
    too_large: bool = False,
) -> Outcome:
    settings: Settings = state.settings
    directory: WorkspaceDirectory = state.workspaces
    writer: PostbackWriter = state.postbacks
    hit = Hit(
        kind=kind,
        method=request.method,
        secret=secret,
        query=request.scope["query_string"],
        body=body,
        source_ip=request_ip(request, settings.trusted_proxies),
        received_at=datetime.now(UTC),
        content_type=request.headers.get("content-type"),
        signature=request.headers.get(HEADER),
        cookie_click_id=request.cookies.get(CLICK_COOKIE) if kind is HitKind.PIXEL else None,
        body_too_large=too_large,
    )
    try:
        outcome = await writer.record(await prepare(directory, hit))
    except (*DATABASE_ERRORS, NotCommittedError) as exc:
        refusal = not_recorded("postback", exc)
        POSTBACKS.labels(kind.value, refusal.code, refusal.code).inc()
        # The workspace lookup fails before the group does; either way the pixel answers its GIF.
        # Not logged per request: the lookup or the postback writer logs the failure once.
        raise refusal from exc
    POSTBACKS.labels(kind.value, outcome.outcome.value, outcome.reason).inc()
    return outcome


def _json(outcome: Outcome) -> Response[dict[str, object]]:
    if outcome.outcome is HitOutcome.REJECTED:
        content: dict[str, object] = {**error_body(outcome.reason, outcome.detail)}
    else:
        content = {
            "result": outcome.reason,
            "event_id": str(outcome.event_id),
            "detail": outcome.detail,
        }
    return Response(
        content, status_code=outcome.http_status, media_type=MediaType.JSON, headers=_NO_CACHE
    )
