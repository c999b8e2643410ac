"""GraphQL types for traffic sources, offers, campaigns and conversion types."""

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy import Row

from api.context import Context
from api.enums import CostModel, DuplicatePolicy, RecordStatus
from api.forwarding.types import ForwardTemplateType
from api.workspaces.types import TrackingTemplatesType, current_templates, ingestion_base_url


@strawberry.type(
    name="TrafficSource", description="Where paid traffic comes from (an ad network, ...)."
)
class TrafficSourceType:
    id: strawberry.ID = strawberry.field(description="Traffic source id.")
    name: str = strawberry.field(description="Display name, unique in the workspace.")
    click_id_param: str | None = strawberry.field(
        description="Query parameter carrying the source's own click id, e.g. gclid."
    )
    status: RecordStatus = strawberry.field(description="Active, paused or archived.")
    created_at: datetime = strawberry.field(description="When it was created.")

    @strawberry.field(
        description="Outgoing postbacks telling the source about its clicks' conversions, one "
        "per conversion type."
    )
    async def forward_templates(self, info: strawberry.Info[Context]) -> list[ForwardTemplateType]:
        rows = await info.context.loaders.forward_templates_by_source_id.load(int(self.id))
        return [ForwardTemplateType.from_row(row) for row in rows]

    @classmethod
    def from_row(cls, row: Row[Any]) -> "TrafficSourceType":
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            click_id_param=row.click_id_param,
            status=RecordStatus(row.status),
            created_at=row.created_at,
        )


@strawberry.type(name="Offer", description="A destination URL with macros such as {clickid}.")
class OfferType:
    id: strawberry.ID = strawberry.field(description="Offer id.")
    name: str = strawberry.field(description="Display name, unique in the workspace.")
    url: str = strawberry.field(description="URL template the tracking link redirects to.")
    payout: Decimal | None = strawberry.field(description="Used when a postback carries no amount.")
    currency: str | None = strawberry.field(description="ISO 4217 currency of the payout.")
    status: RecordStatus = strawberry.field(description="Active, paused or archived.")
    created_at: datetime = strawberry.field(description="When it was created.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> "OfferType":
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            url=row.url,
            payout=row.payout,
            currency=row.currency,
            status=RecordStatus(row.status),
            created_at=row.created_at,
        )


@strawberry.type(
    name="Campaign", description="A tracking link: its key, source, offers and cost model."
)
class CampaignType:
    id: strawberry.ID = strawberry.field(description="Campaign id.")
    key: str = strawberry.field(description="The tracking link's path segment: /c/{key}.")
    name: str = strawberry.field(description="Display name, unique in the workspace.")
    cost_model: CostModel = strawberry.field(description="How the traffic is paid for.")
    cost_value: Decimal = strawberry.field(
        description="Per click (CPC), per 1,000 clicks (CPM), per conversion (CPA) "
        "or percent of revenue (RevShare, 0 to 100)."
    )
    attribution_window_days: int = strawberry.field(
        description="Postbacks for clicks older than this are refused."
    )
    status: RecordStatus = strawberry.field(description="Active, paused or archived.")
    created_at: datetime = strawberry.field(description="When it was created.")
    traffic_source_id: strawberry.Private[int | None]

    @strawberry.field(description="Where the campaign's traffic comes from.")
    async def traffic_source(self, info: strawberry.Info[Context]) -> TrafficSourceType | None:
        if self.traffic_source_id is None:
            return None
        row = await info.context.loaders.traffic_source_by_id.load(self.traffic_source_id)
        return None if row is None else TrafficSourceType.from_row(row)

    @strawberry.field(description="The offers the campaign rotates between, heaviest first.")
    async def offers(self, info: strawberry.Info[Context]) -> list["WeightedOfferType"]:
        rows = await info.context.loaders.weighted_offers_by_campaign_id.load(int(self.id))
        return [WeightedOfferType(offer_id=row.offer_id, weight=row.weight) for row in rows]

    @strawberry.field(description="The link to buy traffic for: the campaign's tracking link.")
    def tracking_link(self, info: strawberry.Info[Context]) -> str:
        return f"{ingestion_base_url(info.context).rstrip('/')}/c/{self.key}"

    @strawberry.field(
        description="Postback URLs and pixel snippets for the offers' conversions and transactions."
    )
    async def templates(self, info: strawberry.Info[Context]) -> TrackingTemplatesType | None:
        return await current_templates(info.context)

    @classmethod
    def from_row(cls, row: Row[Any]) -> "CampaignType":
        return cls(
            id=strawberry.ID(str(row.id)),
            key=row.key,
            name=row.name,
            cost_model=CostModel(row.cost_model),
            cost_value=row.cost_value,
            attribution_window_days=row.attribution_window_days,
            status=RecordStatus(row.status),
            created_at=row.created_at,
            traffic_source_id=row.traffic_source_id,
        )


@strawberry.type(
    name="ConversionType",
    description="A kind of event: `conversion`, `transaction` or one the workspace defines.",
)
class ConversionTypeType:
    id: strawberry.ID = strawberry.field(description="Conversion type id.")
    name: str = strawberry.field(description="What postbacks send as `type`, e.g. deposit.")
    counts_as_conversion: bool = strawberry.field(
        description="Its events count in the Conversions column."
    )
    counts_in_revenue: bool = strawberry.field(description="Its amounts count in Revenue.")
    duplicate_policy: DuplicatePolicy = strawberry.field(
        description="What a repeat of (click, type, transaction id) does."
    )
    is_builtin: bool = strawberry.field(
        description="`conversion` and `transaction` exist in every workspace."
    )
    created_at: datetime = strawberry.field(description="When it was created.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> "ConversionTypeType":
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            counts_as_conversion=row.counts_as_conversion,
            counts_in_revenue=row.counts_in_revenue,
            duplicate_policy=DuplicatePolicy(row.duplicate_policy),
            is_builtin=row.is_builtin,
            created_at=row.created_at,
        )


@strawberry.type(name="WeightedOffer", description="An offer in a campaign's rotation.")
class WeightedOfferType:
    weight: int = strawberry.field(
        description="Relative share of the traffic: weight / sum of the campaign's weights."
    )
    offer_id: strawberry.Private[int]

    @strawberry.field(description="The offer.")
    async def offer(self, info: strawberry.Info[Context]) -> OfferType:
        row = await info.context.loaders.offer_by_id.load(self.offer_id)
        # campaign_offers has a foreign key to offers, so the offer exists.
        assert row is not None
        return OfferType.from_row(row)


@strawberry.type(
    name="CurrencyRate",
    description="Units of workspace currency one unit of `currency` is worth, from `validFrom` on.",
)
class CurrencyRateType:
    currency: str = strawberry.field(description="ISO 4217 code of the foreign currency.")
    rate: Decimal = strawberry.field(description="Workspace currency per unit of `currency`.")
    valid_from: datetime = strawberry.field(description="From when the rate applies.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> "CurrencyRateType":
        return cls(currency=row.currency, rate=row.rate, valid_from=row.valid_from)
