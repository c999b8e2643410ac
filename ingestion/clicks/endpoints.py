"""`GET /c/{campaign_key}` (the tracking link) and `POST /clicks` (server-side integrations)."""

import asyncio
import html
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from ipaddress import ip_address
from typing import Any

from litestar import MediaType, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp, Receive, Scope, Send

from ingestion.clicks.records import CampaignRoute
from ingestion.clicks.schemas import CLICK_BODY, ClickInput, ClickOutput
from ingestion.clicks.service import (
    TrackedClick,
    Visit,
    active_campaign,
    new_click,
    track,
)
from ingestion.errors import IngestionError, not_recorded
from ingestion.group_commit import NotCommittedError
from ingestion.json_bodies import BodyError, decode
from ingestion.openapi import (
    CLICK_API_RESPONSES,
    TRACKING_LINK_RESPONSES,
    ClickApiOperation,
    TrackingLinkOperation,
)
from ingestion.params import check_param, parse_params
from ingestion.visitors import CountryResolver, request_ip
from models.catalog import CAMPAIGN_KEY
from models.click import SUB_COUNT
from models.database import DATABASE_ERRORS
from models.settings import Settings
from models.unavailable import RETRY_AFTER_S, connection_lost

CLICK_COOKIE = "ct_click"
_NO_STORE = {"Cache-Control": "no-store"}


@get(
    "/c/{campaign_key:str}",
    summary="Tracking link",
    description=(
        "Records a click and answers 302 to the campaign's offer URL with its macros filled "
        f"({{clickid}}, {{sub1}}..{{sub{SUB_COUNT}}}, {{campaign_id}}, {{source}}, {{country}} "
        "and every incoming "
        "parameter by name). Sets the `ct_click` cookie so a later pixel finds the click. "
        "An unknown or paused campaign, or one without an active offer, answers 404 and "
        "records nothing."
    ),
    media_type=MediaType.HTML,
    operation_class=TrackingLinkOperation,
    responses=TRACKING_LINK_RESPONSES,
    status_code=302,
)
async def tracking_link(
    campaign_key: FromPath[str], request: Request[Any, Any, Any], state: State
) -> ASGIApp:
    try:
        params = parse_params(request.scope["query_string"])
        visit = _visit_from_request(request, state, params)
        tracked = await track(state.directory, state.writer, campaign_key=campaign_key, visit=visit)
    except IngestionError as exc:
        return _page(exc.status_code, exc.detail)
    except (*DATABASE_ERRORS, NotCommittedError) as exc:
        # Not logged per request: the campaign lookup or the click writer logs the failure
        # once, then now and then, then its end.
        if connection_lost(exc):
            return _page(503, "The click could not be recorded. Please try again.")
        return _page(500, "The click could not be recorded.")
    # track() refuses a campaign without an offer, so there is always somewhere to go.
    assert tracked.redirect_url is not None
    settings: Settings = state.settings
    # The hot path: a bare ASGI response and a hand-written cookie cost a fraction of
    # Litestar's Response and Cookie machinery, for the same bytes on the wire.
    max_age = settings.cookie_max_age_days * 86400
    cookie = f"{CLICK_COOKIE}={tracked.click_id}; Max-Age={max_age}; Path=/; HttpOnly"
    # A pixel on the advertiser's site is a cross-site request: over HTTPS the cookie must be
    # SameSite=None (and so Secure) to travel with it. Behind a TLS-terminating proxy the
    # request arrives as http, so a public https URL counts too.
    https = request.scope["scheme"] == "https" or (settings.public_url or "").startswith("https:")
    cookie += "; SameSite=None; Secure" if https else "; SameSite=Lax"
    return Found(tracked.redirect_url, cookie)


class Found:
    """A 302 with its cookie, as an ASGI app (Litestar passes a returned ASGI app through)."""

    __slots__ = ("_headers",)

    def __init__(self, location: str, cookie: str) -> None:
        self._headers = [
            (b"location", location.encode("latin-1")),
            (b"cache-control", b"no-store"),
            (b"set-cookie", cookie.encode("latin-1")),
            (b"content-length", b"0"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 302, "headers": self._headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


@post(
    "/clicks",
    summary="Record clicks (server-side)",
    description=(
        "Records one click (a JSON object) or a batch (a JSON array of up to 1,000) for "
        "integrations that redirect on their own. Answers 201 with the click ids and the "
        "offer URLs with macros filled (null for a campaign without an active offer), in the "
        "order given. A batch is all or nothing: if any item is refused (400, or 404 for an "
        "unknown campaign), the answer names the item by its index and no click is recorded."
    ),
    status_code=201,
    operation_class=ClickApiOperation,
    responses=CLICK_API_RESPONSES,
)
async def record_clicks(
    request: Request[Any, Any, Any], state: State
) -> ClickOutput | list[ClickOutput]:
    # Decoded here rather than by Litestar, whose untyped first pass takes any depth of nesting
    # and any repeated name (see ingestion.json_bodies).
    if request.content_type[0] != MediaType.JSON:
        raise IngestionError(
            "unsupported_media_type", "send the clicks as application/json", status_code=415
        )
    try:
        data = decode(await request.body(), CLICK_BODY)
    except BodyError as exc:
        raise IngestionError("invalid_body", f"body: {exc}") from None
    inputs = data if isinstance(data, list) else [data]
    try:
        prepared = await _prepare(state, inputs, batch=isinstance(data, list))
        made = [new_click(route, visit) for route, visit in prepared]
        # One unit: the request's clicks are committed together or not at all.
        await state.writer.write(*(click for click, _ in made))
        tracked = [t for _, t in made]
    except (*DATABASE_ERRORS, NotCommittedError) as exc:
        raise not_recorded("clicks", exc) from exc
    outputs = [_output(t) for t in tracked]
    return outputs if isinstance(data, list) else outputs[0]


async def _prepare(
    state: State, inputs: list[ClickInput], *, batch: bool
) -> list[tuple[CampaignRoute, Visit]]:
    """Every item's visit and campaign, found before any click is written.

    A refused batch then leaves nothing behind that a retry would duplicate. Items are checked
    before any campaign is looked up; the error names the refused item by its index.
    """
    visits = []
    for index, item in enumerate(inputs):
        with _naming(index if batch else None):
            _check_text(item)
            visits.append(_visit_from_input(item, state))
    keys = list(dict.fromkeys(item.campaign_key for item in inputs))
    found = await asyncio.gather(
        *(active_campaign(state.directory, key) for key in keys), return_exceptions=True
    )
    campaigns = dict(zip(keys, found, strict=True))
    prepared = []
    for index, (item, visit) in enumerate(zip(inputs, visits, strict=True)):
        route = campaigns[item.campaign_key]
        if isinstance(route, BaseException):
            with _naming(index if batch else None):
                raise route
        prepared.append((route, visit))
    return prepared


@contextmanager
def _naming(index: int | None) -> Iterator[None]:
    """An item's refusal, naming the item when it came in a batch."""
    try:
        yield
    except IngestionError as exc:
        if index is None:
            raise
        raise IngestionError(
            exc.code, f"item {index}: {exc.detail}", status_code=exc.status_code
        ) from exc


def _output(tracked: TrackedClick) -> ClickOutput:
    return ClickOutput(click_id=tracked.click_id, url=tracked.redirect_url)


def _visit_from_request(
    request: Request[Any, Any, Any],
    state: State,
    params: dict[str, str],
) -> Visit:
    settings: Settings = state.settings
    resolver: CountryResolver = state.countries
    headers = request.headers
    ip = request_ip(request, settings.trusted_proxies)
    user_agent = headers.get("user-agent")
    referrer = headers.get("referer")
    # RFC 9110 lets a recipient refuse a header value holding NUL or replace it with a space.
    # Refused, as most servers already do: only a crafted request carries one, and a stored value
    # stays exactly what was sent. (PostgreSQL text could not hold the NUL anyway.)
    if user_agent is not None:
        check_param("User-Agent", user_agent)
    if referrer is not None:
        check_param("Referer", referrer)
    return Visit(
        params=params,
        ip=ip,
        user_agent=user_agent,
        referrer=referrer,
        country=resolver.country(headers, ip),
    )


def _check_text(item: ClickInput) -> None:
    """PostgreSQL text cannot hold NUL, and one such value would fail the whole COPY it joins.

    The key is held to the catalog's alphabet; params are checked with the visit, and ip and
    country are parsed, so no text field can carry a NUL.
    """
    if not CAMPAIGN_KEY.fullmatch(item.campaign_key):
        raise IngestionError(
            "invalid_body", "campaign_key: must be 4 to 64 letters, digits, - or _"
        )
    for field, text in (("user_agent", item.user_agent), ("referrer", item.referrer)):
        if text is not None and "\x00" in text:
            raise IngestionError("invalid_body", f"{field}: contains a NUL byte")


def _visit_from_input(item: ClickInput, state: State) -> Visit:
    resolver: CountryResolver = state.countries
    for name, value in item.params.items():
        check_param(name, value)
    try:
        ip = ip_address(item.ip) if item.ip else None
    except ValueError as exc:
        raise IngestionError("bad_ip", f"ip {item.ip!r:.64} is not an IP address") from exc
    return Visit(
        params=item.params,
        ip=ip,
        user_agent=item.user_agent,
        referrer=item.referrer,
        country=item.country.upper() if item.country else resolver.country({}, ip),
    )


def _page(status_code: int, message: str) -> ASGIResponse:
    body = (
        "<!doctype html><html><head><meta charset=utf-8><title>clicktrail</title></head>"
        f"<body><p>{html.escape(message)}</p></body></html>"
    )
    headers = _NO_STORE
    if status_code == HTTPStatus.SERVICE_UNAVAILABLE:
        headers = {**_NO_STORE, "Retry-After": str(RETRY_AFTER_S)}
    return ASGIResponse(
        body=body.encode(), status_code=status_code, media_type=MediaType.HTML, headers=headers
    )
