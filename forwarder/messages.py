"""A claimed forward as the request it becomes: the template filled with the event's values."""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from models.click import SUB_COUNT
from models.enums import ForwardMethod
from models.forward_urls import masked, render

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


def macro_values(row: asyncpg.Record) -> dict[str, str]:
    amount = row["amount"]
    assert isinstance(amount, Decimal)
    values = {
        "external_id": row["external_id"],
        "clickid": row["click_id"],
        "payout": number(
            payout(
                amount,
                override=row["payout_override"],
                share=row["payout_share"],
            )
        ),
        "revenue": number(amount),
        "currency": row["currency"],
        "type": row["type_name"],
        "txid": row["txid"],
        "status": row["event_status"],
        "campaign_id": row["campaign_id"],
        "event_id": row["id"],
        **{f"sub{n}": row[f"sub{n}"] for n in range(1, SUB_COUNT + 1)},
    }
    return {name: "" if value is None else str(value) for name, value in values.items()}


@lru_cache(maxsize=1_024)
def _masked(template: str) -> str:
    return masked(template)


def message(row: asyncpg.Record) -> Message:
    template = str(row["url"])
    values = macro_values(row)
    url = render(template, values)
    shown = render(_masked(template), values)
    method = ForwardMethod(str(row["method"]))
    body = None
    if method is ForwardMethod.POST:
        parts = urlsplit(url)
        body = parts.query.encode()
        # The shown URL keeps its query: it is what the body carried.
        url = urlunsplit(parts._replace(query=""))
    parts = urlsplit(url)
    return Message(
        workspace_id=row["workspace_id"],
        forward_id=row["id"],
        lease=row["lease"],
        attempts=row["attempts"],
        enqueued_at=row["created_at"],
        method=method,
        url=url,
        body=body,
        masked_url=shown,
        destination=f"{parts.scheme}://{parts.netloc.lower()}",
    )
