"""A claimed forward as the request it becomes: the template filled with the event's values."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from operator import itemgetter
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from models.click import SUB_COLUMNS
from models.enums import ForwardMethod
from models.forward_urls import Template, masked, parsed, quoted
from models.forwarding import MACROS

_MICRO = Decimal("0.000001")
_PERCENT = Decimal(100)


@dataclass(frozen=True, slots=True)
class Message:
    workspace_id: int
    forward_id: int
    # The claim's token (see forwarder.repository).
    lease: datetime
    attempts: int
    enqueued_at: datetime
    method: ForwardMethod
    url: str
    # Form body of a POST: the query of the filled template.
    body: bytes | None
    masked_url: str
    # (scheme, host, port): requests to one destination share its concurrency limit.
    destination: str


def payout(revenue: Decimal, *, override: Decimal | None, share: Decimal | None) -> Decimal:
    """What the source is told it earned: a fixed amount, a percent of the revenue, or all."""
    if override is not None:
        return override
    if share is not None:
        return (revenue * share / _PERCENT).quantize(_MICRO, rounding=ROUND_HALF_UP)
    return revenue


def number(value: Decimal) -> str:
    """A plain decimal without trailing zeros: 12, 4.5, 0.000001."""
    return f"{value.normalize():f}"


def _payout(row: asyncpg.Record) -> str:
    amount = row["amount"]
    assert isinstance(amount, Decimal)
    return number(payout(amount, override=row["payout_override"], share=row["payout_share"]))


# Each macro's value from a claimed row (see forwarder.repository); only the macros a
# template holds are computed.
_VALUES: dict[str, Callable[[asyncpg.Record], object]] = {
    "external_id": itemgetter("external_id"),
    "clickid": itemgetter("click_id"),
    "payout": _payout,
    "revenue": lambda row: number(row["amount"]),
    "currency": itemgetter("currency"),
    "type": itemgetter("type_name"),
    "txid": itemgetter("txid"),
    "status": itemgetter("event_status"),
    "campaign_id": itemgetter("campaign_id"),
    "event_id": itemgetter("id"),
    **{sub: itemgetter(sub) for sub in SUB_COLUMNS},
}
assert set(_VALUES) == set(MACROS), "every macro has a value"
# The macros whose values the claim reads from the click: none once raw retention dropped the
# click's month (a late postback's forward can still be waiting then).
_CLICK_MACROS = ("external_id", "campaign_id", *SUB_COLUMNS)


class ClickGoneError(ValueError):
    """The template needs values of a click that is no longer stored; no retry brings it back."""


@lru_cache(maxsize=1_024)
def _templates(url: str) -> tuple[Template, Template, str]:
    """The template, as sent and as shown (secrets masked), and its destination: macros never
    stand in the scheme, host or port, so the template's are the request's."""
    parts = urlsplit(url)
    return parsed(url), parsed(masked(url)), f"{parts.scheme}://{parts.netloc.lower()}"


def message(row: asyncpg.Record) -> Message:
    template, shown, destination = _templates(str(row["url"]))
    # A stored click always has its campaign: without one, the click is gone.
    if row["campaign_id"] is None and (
        needed := [name for name in _CLICK_MACROS if name in template.macros]
    ):
        raise ClickGoneError(
            f"click {row['click_id']} is no longer stored (raw retention dropped its month), "
            f"and the template needs its {', '.join(needed)}"
        )
    values = {}
    for name in template.macros:
        if name not in values:
            value = _VALUES[name](row)
            values[name] = "" if value is None else quoted(str(value))
    url = template.fill(values)
    method = ForwardMethod(str(row["method"]))
    body = None
    if method is ForwardMethod.POST:
        parts = urlsplit(url)
        body = parts.query.encode()
        # The shown URL keeps its query: it is what the body carried.
        url = urlunsplit(parts._replace(query=""))
    return Message(
        workspace_id=row["workspace_id"],
        forward_id=row["id"],
        lease=row["lease"],
        attempts=row["attempts"],
        enqueued_at=row["created_at"],
        method=method,
        url=url,
        body=body,
        masked_url=shown.fill(values),
        destination=destination,
    )
