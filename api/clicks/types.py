"""GraphQL type for clicks, with their campaign, offer, source and events."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from sqlalchemy import Row
from strawberry.scalars import JSON

from api.catalog.types import CampaignType, OfferType, TrafficSourceType
from api.clicks.filters import SUB_COUNT
from api.context import Context
from api.conversions.types import ConversionEventType
from api.enums import ConversionStatus
from models.catalog import TRANSACTION_TYPE


@strawberry.type(name="Click", description="One visit through a tracking link.")
class ClickType:
    id: strawberry.ID = strawberry.field(
        description="Click id: what offers pass back as {clickid}."
    )
    created_at: datetime = strawberry.field(description="When the visitor clicked.")
    ip: str | None = strawberry.field(description="Visitor IP address.")
    user_agent: str | None = strawberry.field(description="Visitor user agent.")
    device_type: str | None = strawberry.field(description="desktop, mobile, tablet, ...")
    os: str | None = strawberry.field(description="Operating system, from the user agent.")
    browser: str | None = strawberry.field(description="Browser, from the user agent.")
    is_bot: bool = strawberry.field(description="The user agent is a known bot.")
    is_unique: bool = strawberry.field(
        description="First click of this IP and user agent on the campaign within the window."
    )
    country: str | None = strawberry.field(description="ISO 3166-1 alpha-2 country code.")
    referrer: str | None = strawberry.field(description="Referer header of the visit.")
    external_id: str | None = strawberry.field(description="The traffic source's own click id.")
    cost: Decimal = strawberry.field(description="What the click cost, in workspace currency.")
    subs: list[str | None] = strawberry.field(
        description=f"sub1 to sub{SUB_COUNT} in order; null where not sent."
    )
    params: JSON = strawberry.field(description="Every query parameter of the visit.")
    campaign_id: strawberry.Private[int]
    offer_id: strawberry.Private[int | None]
    traffic_source_id: strawberry.Private[int | None]

    @strawberry.field(description="The campaign whose tracking link was clicked.")
    async def campaign(self, info: strawberry.Info[Context]) -> CampaignType:
        row = await info.context.loaders.campaign_by_id.load(self.campaign_id)
        # clicks.campaign_id is a foreign key within the workspace.
        assert row is not None
        return CampaignType.from_row(row)

    @strawberry.field(description="The offer the visitor was sent to.")
    async def offer(self, info: strawberry.Info[Context]) -> OfferType | None:
        if self.offer_id is None:
            return None
        row = await info.context.loaders.offer_by_id.load(self.offer_id)
        return None if row is None else OfferType.from_row(row)

    @strawberry.field(description="Where the click came from.")
    async def traffic_source(self, info: strawberry.Info[Context]) -> TrafficSourceType | None:
        if self.traffic_source_id is None:
            return None
        row = await info.context.loaders.traffic_source_by_id.load(self.traffic_source_id)
        return None if row is None else TrafficSourceType.from_row(row)

    @strawberry.field(description="Events whose type counts as a conversion, oldest first.")
    async def conversions(self, info: strawberry.Info[Context]) -> list[ConversionEventType]:
        rows = await info.context.loaders.events_by_click_id.load(self.id)
        return [ConversionEventType.from_row(row) for row in rows if row.counts_as_conversion]

    @strawberry.field(description="Transactions (type=transaction), oldest first.")
    async def transactions(self, info: strawberry.Info[Context]) -> list[ConversionEventType]:
        rows = await info.context.loaders.events_by_click_id.load(self.id)
        return [ConversionEventType.from_row(r) for r in rows if r.type_name == TRANSACTION_TYPE]

    @strawberry.field(description="Every event of the click, oldest first, optionally narrowed.")
    async def events(
        self,
        info: strawberry.Info[Context],
        types: Annotated[
            list[str] | None, strawberry.argument(description="Only these conversion types.")
        ] = None,
        statuses: Annotated[
            list[ConversionStatus] | None, strawberry.argument(description="Only these statuses.")
        ] = None,
    ) -> list[ConversionEventType]:
        rows = await info.context.loaders.events_by_click_id.load(self.id)
        return [
            ConversionEventType.from_row(row)
            for row in rows
            if (not types or row.type_name in types)
            and (not statuses or ConversionStatus(row.status) in statuses)
        ]

    @classmethod
    def from_row(cls, row: Row[Any]) -> "ClickType":
        return cls(
            id=strawberry.ID(row.id),
            created_at=row.created_at,
            ip=None if row.ip is None else str(row.ip),
            user_agent=row.user_agent,
            device_type=row.device_type,
            os=row.os,
            browser=row.browser,
            is_bot=row.is_bot,
            is_unique=row.is_unique,
            country=row.country,
            referrer=row.referrer,
            external_id=row.external_id,
            cost=row.cost,
            subs=[getattr(row, f"sub{n}") for n in range(1, SUB_COUNT + 1)],
            params=row.params,
            campaign_id=row.campaign_id,
            offer_id=row.offer_id,
            traffic_source_id=row.traffic_source_id,
        )
