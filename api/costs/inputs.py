"""Inputs of cost updates."""

from datetime import datetime
from decimal import Decimal

import strawberry

from api.enums import CostUpdateMode


@strawberry.input(description="Only clicks with this value in one of sub1..sub20.")
class CostUpdateSubInput:
    index: int = strawberry.field(description="Which sub: 1 to 20.")
    value: str = strawberry.field(description="The value, exactly as the click has it.")


@strawberry.input(description="What a campaign's clicks in a time range cost.")
class UpdateCostsInput:
    campaign_id: strawberry.ID = strawberry.field(description="The campaign whose clicks cost.")
    from_: datetime = strawberry.field(
        name="from", description="Clicks from this time on (with a time zone offset)."
    )
    to: datetime = strawberry.field(
        description="Clicks before this time; at most 366 days after `from`."
    )
    mode: CostUpdateMode = strawberry.field(
        description="TOTAL: `amount` spread over the clicks; PER_CLICK: each click's cost."
    )
    amount: Decimal = strawberry.field(
        description="0 or more, at most 6 decimal places, in `currency`."
    )
    currency: str | None = strawberry.field(
        default=None,
        description="ISO 4217 code; default the workspace currency. Another one is converted "
        "at the stored rate valid at `from` (setCurrencyRate).",
    )
    traffic_source_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only clicks of this traffic source."
    )
    country: str | None = strawberry.field(
        default=None, description="Only clicks from this country (ISO 3166 code, e.g. DE)."
    )
    sub: CostUpdateSubInput | None = strawberry.field(
        default=None, description="Only clicks with this sub value."
    )
    request_id: str | None = strawberry.field(
        default=None,
        description="Your name for this request (up to 100 characters). A retry with the same "
        "one answers the update it made instead of making another; without one, every call "
        "is a new update.",
    )
