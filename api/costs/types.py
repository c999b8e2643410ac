"""GraphQL types of cost updates."""

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy import Row

from api.enums import CostUpdateMode


@strawberry.type(name="CostUpdateSub", description="A sub value clicks were narrowed to.")
class CostUpdateSubType:
    index: int = strawberry.field(description="Which sub: 1 to 20.")
    value: str = strawberry.field(description="The value.")


@strawberry.type(
    name="CostUpdate",
    description="A request to set the cost of a campaign's clicks in a time range, and what "
    "it did. Its batches are applied in the background by the ingestion service, oldest "
    "update first; money is in the workspace currency unless said otherwise.",
)
class CostUpdateType:
    id: strawberry.ID = strawberry.field(description="Cost update id.")
    created_at: datetime = strawberry.field(description="When it was requested.")
    requested_by: str = strawberry.field(description='"api key <id>", or "cli".')
    api_key_id: strawberry.ID | None = strawberry.field(
        description="The API key that requested it (null: the CLI)."
    )
    request_id: str | None = strawberry.field(description="The requester's name for it.")
    campaign_id: strawberry.ID = strawberry.field(description="The campaign.")
    from_: datetime = strawberry.field(name="from", description="Clicks from this time on.")
    to: datetime = strawberry.field(description="Clicks before this time.")
    traffic_source_id: strawberry.ID | None = strawberry.field(
        description="Only this traffic source's clicks."
    )
    country: str | None = strawberry.field(description="Only clicks from this country.")
    sub: CostUpdateSubType | None = strawberry.field(description="Only clicks with this sub value.")
    mode: CostUpdateMode = strawberry.field(description="A total spread, or a cost per click.")
    amount: Decimal = strawberry.field(description="As requested, in `currency`.")
    currency: str = strawberry.field(description="The currency of `amount`.")
    rate: Decimal = strawberry.field(
        description="Workspace currency per unit of `currency`, valid at `from` (1 for the "
        "workspace currency). Each click's cost is converted at the rate valid at the click's "
        "time, as a conversion's revenue is at the event's."
    )
    converted_amount: Decimal = strawberry.field(
        description="`amount` at `rate`, rounded to millionths: what the clicks cost in the "
        "workspace currency while `rate` holds (after a rate change inside the range, "
        "`newTotal` is the outcome)."
    )
    planned_clicks: int = strawberry.field(
        description="Clicks that matched when planned (so far, while `plannedAt` is null)."
    )
    planned_at: datetime | None = strawberry.field(
        description="When its clicks were counted and cut into batches (the answer to "
        "updateCosts comes after); null while that goes on, in chunks of the campaign's clicks."
    )
    clicks_touched: int = strawberry.field(
        description="Clicks given their new cost so far (clicks written into the range while "
        "it ran can make it more than planned)."
    )
    old_total: Decimal = strawberry.field(description="What the touched clicks cost before.")
    new_total: Decimal = strawberry.field(description="What they cost now.")
    batches: int = strawberry.field(description="Batches of up to 5,000 clicks it runs in.")
    batches_applied: int = strawberry.field(description="Batches applied so far.")
    finished_at: datetime | None = strawberry.field(
        description="When its last batch was applied; null while it runs."
    )

    @classmethod
    def from_row(cls, row: Row[Any]) -> "CostUpdateType":
        return cls(
            id=strawberry.ID(str(row.id)),
            created_at=row.created_at,
            requested_by="cli" if row.api_key_id is None else f"api key {row.api_key_id}",
            api_key_id=None if row.api_key_id is None else strawberry.ID(str(row.api_key_id)),
            request_id=row.request_id,
            campaign_id=strawberry.ID(str(row.campaign_id)),
            from_=row.starts_at,
            to=row.ends_at,
            traffic_source_id=(
                None if row.traffic_source_id is None else strawberry.ID(str(row.traffic_source_id))
            ),
            country=row.country,
            sub=(
                None
                if row.sub_number is None
                else CostUpdateSubType(index=row.sub_number, value=row.sub_value)
            ),
            mode=CostUpdateMode(row.mode),
            amount=row.amount,
            currency=row.currency,
            rate=row.rate,
            converted_amount=row.converted_amount,
            planned_clicks=row.planned_clicks,
            planned_at=row.planned_at,
            clicks_touched=row.clicks_touched,
            old_total=row.old_total,
            new_total=row.new_total,
            batches=row.batches,
            batches_applied=row.batches_applied,
            finished_at=row.finished_at,
        )
