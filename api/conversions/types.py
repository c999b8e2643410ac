"""GraphQL type for conversion events: conversions, transactions and custom events."""

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import Row
from strawberry.scalars import JSON

from api.catalog.types import ConversionTypeType
from api.context import Context
from api.enums import ConversionStatus
from api.forwarding.types import ForwardType
from api.selection import selection

if TYPE_CHECKING:
    from api.clicks.types import ClickType


@strawberry.type(
    name="ConversionEvent",
    description="A conversion, transaction or custom event a network reported for a click.",
)
class ConversionEventType:
    id: strawberry.ID = strawberry.field(description="Event id.")
    type: str = strawberry.field(description="Conversion type name: conversion, transaction, ...")
    txid: str = strawberry.field(description="Transaction id as sent; empty when none was.")
    status: ConversionStatus = strawberry.field(description="Approved, pending, declined, other.")
    amount: Decimal = strawberry.field(description="Payout in the workspace currency.")
    original_amount: Decimal | None = strawberry.field(
        description="Payout as the network sent it, in originalCurrency."
    )
    original_currency: str | None = strawberry.field(
        description="ISO 4217 currency the network sent."
    )
    cost: Decimal = strawberry.field(
        description="What the traffic source is paid for it, in the workspace currency: a CPA "
        "campaign's cost value for an event that counts as a conversion, a RevShare campaign's "
        "percent of its revenue; 0 on CPC and CPM campaigns, whose clicks carry the cost."
    )
    created_at: datetime = strawberry.field(description="When the event was first recorded.")
    updated_at: datetime = strawberry.field(description="When its status or amount last changed.")
    seconds_from_click: float = strawberry.field(description="Time from the click to the event.")
    counts_as_conversion: bool = strawberry.field(
        description="Its type counts in the Conversions column."
    )
    counts_in_revenue: bool = strawberry.field(description="Its type counts in Revenue.")
    params: JSON = strawberry.field(description="Every parameter the postback or pixel carried.")
    click_id: strawberry.ID = strawberry.field(description="Id of the click it belongs to.")
    type_id: strawberry.Private[int]

    @strawberry.field(description="The click the event belongs to.")
    async def click(
        self, info: strawberry.Info[Context]
    ) -> Annotated["ClickType", strawberry.lazy("api.clicks.types")] | None:
        from api.clicks.types import ClickType

        row = await info.context.loaders.click_by_id.load(self.click_id)
        if row is None:
            return None
        [click] = await ClickType.load_many(info.context, [row], selection(info))
        return click

    @strawberry.field(
        description="What was sent to the click's traffic source about this event: one forward "
        "per status change its template sends, with every attempt."
    )
    async def forwards(self, info: strawberry.Info[Context]) -> list[ForwardType]:
        rows = await info.context.loaders.forwards_by_event_id.load(int(self.id))
        return [ForwardType.from_row(row) for row in rows]

    @strawberry.field(description="The event's conversion type and its settings.")
    async def conversion_type(self, info: strawberry.Info[Context]) -> ConversionTypeType:
        types = await info.context.loaders.conversion_types.load(None)
        return ConversionTypeType.from_row(types[self.type_id])

    @classmethod
    def from_row(cls, row: Row[Any]) -> "ConversionEventType":
        return cls(
            id=strawberry.ID(str(row.id)),
            type=row.type_name,
            txid=row.txid,
            status=ConversionStatus(row.status),
            amount=row.amount,
            original_amount=row.original_amount,
            original_currency=row.original_currency,
            cost=row.cost,
            created_at=row.created_at,
            updated_at=row.updated_at,
            seconds_from_click=(row.created_at - row.click_created_at).total_seconds(),
            counts_as_conversion=row.counts_as_conversion,
            counts_in_revenue=row.counts_in_revenue,
            params=row.params,
            click_id=strawberry.ID(row.click_id),
            type_id=row.type_id,
        )
