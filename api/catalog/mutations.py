"""Root mutation fields for traffic sources, offers, campaigns, conversion types and rates.

The request commits at its end, after the resolvers ran; nested fields of a payload read
through loaders on their own connections, so each mutation primes the loaders with the
rows it wrote, as its transaction sees them.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy import Row

from api.arguments import FIELDS, NewStatus, ObjectId
from api.catalog import service
from api.catalog.inputs import (
    CreateCampaignInput,
    CreateConversionTypeInput,
    CreateOfferInput,
    CreateTrafficSourceInput,
    SetCurrencyRateInput,
    UpdateCampaignInput,
    UpdateConversionTypeInput,
    UpdateOfferInput,
    UpdateTrafficSourceInput,
    WeightedOfferInput,
)
from api.catalog.types import (
    CampaignType,
    ConversionTypeType,
    CurrencyRateType,
    OfferType,
    TrafficSourceType,
)
from api.context import Context
from api.ids import required_id
from api.mutation_errors import (
    Conflict,
    Deleted,
    InputError,
    InUse,
    InvalidInput,
    NotFound,
    returns_errors,
)
from api.permissions import IsAdmin

TrafficSourceResult = Annotated[
    TrafficSourceType | InputError | NotFound | Conflict,
    strawberry.union("TrafficSourceResult", description="The traffic source as saved, or why not."),
]
OfferResult = Annotated[
    OfferType | InputError | NotFound | Conflict,
    strawberry.union("OfferResult", description="The offer as saved, or why not."),
]
CampaignResult = Annotated[
    CampaignType | InputError | NotFound | Conflict,
    strawberry.union("CampaignResult", description="The campaign as saved, or why not."),
]
ConversionTypeResult = Annotated[
    ConversionTypeType | InputError | NotFound | Conflict,
    strawberry.union(
        "ConversionTypeResult", description="The conversion type as saved, or why not."
    ),
]
CurrencyRateResult = Annotated[
    CurrencyRateType | InputError | NotFound,
    strawberry.union("CurrencyRateResult", description="The rate set or deleted, or why not."),
]
DeleteResult = Annotated[
    Deleted | NotFound | InUse | InputError,
    strawberry.union(
        "DeleteResult",
        description="Deleted, or why not: InUse when history refers to it (archive it instead).",
    ),
]

_STATUS_HELP = "ACTIVE, PAUSED or ARCHIVED (archived: retired for good, kept for reports)."
_DELETE_HELP = (
    "Delete {what} nothing refers to, e.g. one created by mistake. Once clicks, conversions "
    "or campaigns refer to it, deleting would rewrite history, so the answer is InUse: archive "
    "it instead (status ARCHIVED)."
)


def _workspace(info: strawberry.Info[Context]) -> int:
    return info.context.principal.workspace_id


def _weights(offers: list[WeightedOfferInput]) -> dict[int, int]:
    weights: dict[int, int] = {}
    for item in offers:
        offer_id = required_id(item.offer_id, "offer")
        if offer_id in weights:
            raise InvalidInput(f"offer {offer_id} is listed twice", field="offers")
        weights[offer_id] = item.weight
    return weights


def _campaign(info: strawberry.Info[Context], written: service.WrittenCampaign) -> CampaignType:
    loaders = info.context.loaders
    campaign: Row[Any] = written.campaign
    loaders.campaign_by_id.prime(campaign.id, campaign, force=True)
    loaders.weighted_offers_by_campaign_id.prime(
        campaign.id, list(written.weighted_offers), force=True
    )
    loaders.offer_by_id.prime_many({row.id: row for row in written.offers}, force=True)
    if written.traffic_source is not None:
        source = written.traffic_source
        loaders.traffic_source_by_id.prime(source.id, source, force=True)
    return CampaignType.from_row(campaign)


def _source(info: strawberry.Info[Context], row: Row[Any]) -> TrafficSourceType:
    info.context.loaders.traffic_source_by_id.prime(row.id, row, force=True)
    return TrafficSourceType.from_row(row)


def _offer(info: strawberry.Info[Context], row: Row[Any]) -> OfferType:
    info.context.loaders.offer_by_id.prime(row.id, row, force=True)
    return OfferType.from_row(row)


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(description="Add a traffic source.", permission_classes=[IsAdmin])
    @returns_errors
    async def create_traffic_source(
        self,
        info: strawberry.Info[Context],
        input: Annotated[CreateTrafficSourceInput, FIELDS],
    ) -> TrafficSourceResult:
        row = await service.create_traffic_source(
            info.context.session,
            workspace_id=_workspace(info),
            name=input.name,
            click_id_param=input.click_id_param,
        )
        return _source(info, row)

    @strawberry.mutation(description="Change a traffic source.", permission_classes=[IsAdmin])
    @returns_errors
    async def update_traffic_source(
        self,
        info: strawberry.Info[Context],
        input: Annotated[UpdateTrafficSourceInput, FIELDS],
    ) -> TrafficSourceResult:
        row = await service.update_traffic_source(
            info.context.session,
            workspace_id=_workspace(info),
            id=required_id(input.id, "traffic source"),
            name=input.name,
            click_id_param=input.click_id_param,
        )
        return _source(info, row)

    @strawberry.mutation(
        description=f"Pause, activate or archive a traffic source: {_STATUS_HELP}",
        permission_classes=[IsAdmin],
    )
    @returns_errors
    async def set_traffic_source_status(
        self, info: strawberry.Info[Context], id: ObjectId, status: NewStatus
    ) -> TrafficSourceResult:
        row = await service.set_status(
            info.context.session,
            "traffic_source",
            workspace_id=_workspace(info),
            id=required_id(id, "traffic source"),
            status=status,
        )
        return _source(info, row)

    @strawberry.mutation(
        description=_DELETE_HELP.format(what="a traffic source"), permission_classes=[IsAdmin]
    )
    @returns_errors
    async def delete_traffic_source(
        self, info: strawberry.Info[Context], id: ObjectId
    ) -> DeleteResult:
        number = required_id(id, "traffic source")
        await service.delete(
            info.context.session, "traffic_source", workspace_id=_workspace(info), id=number
        )
        info.context.loaders.traffic_source_by_id.prime(number, None, force=True)
        return Deleted(id=id)

    @strawberry.mutation(description="Add an offer.", permission_classes=[IsAdmin])
    @returns_errors
    async def create_offer(
        self,
        info: strawberry.Info[Context],
        input: Annotated[CreateOfferInput, FIELDS],
    ) -> OfferResult:
        row = await service.create_offer(
            info.context.session,
            workspace_id=_workspace(info),
            name=input.name,
            url=input.url,
            payout=input.payout,
            currency=input.currency,
        )
        return _offer(info, row)

    @strawberry.mutation(description="Change an offer.", permission_classes=[IsAdmin])
    @returns_errors
    async def update_offer(
        self,
        info: strawberry.Info[Context],
        input: Annotated[UpdateOfferInput, FIELDS],
    ) -> OfferResult:
        row = await service.update_offer(
            info.context.session,
            workspace_id=_workspace(info),
            id=required_id(input.id, "offer"),
            name=input.name,
            url=input.url,
            payout=input.payout,
            currency=input.currency,
        )
        return _offer(info, row)

    @strawberry.mutation(
        description=f"Pause, activate or archive an offer: {_STATUS_HELP}",
        permission_classes=[IsAdmin],
    )
    @returns_errors
    async def set_offer_status(
        self, info: strawberry.Info[Context], id: ObjectId, status: NewStatus
    ) -> OfferResult:
        row = await service.set_status(
            info.context.session,
            "offer",
            workspace_id=_workspace(info),
            id=required_id(id, "offer"),
            status=status,
        )
        return _offer(info, row)

    @strawberry.mutation(
        description=_DELETE_HELP.format(what="an offer"), permission_classes=[IsAdmin]
    )
    @returns_errors
    async def delete_offer(self, info: strawberry.Info[Context], id: ObjectId) -> DeleteResult:
        number = required_id(id, "offer")
        await service.delete(
            info.context.session, "offer", workspace_id=_workspace(info), id=number
        )
        info.context.loaders.offer_by_id.prime(number, None, force=True)
        return Deleted(id=id)

    @strawberry.mutation(
        description="Add a campaign rotating between existing offers.",
        permission_classes=[IsAdmin],
    )
    @returns_errors
    async def create_campaign(
        self,
        info: strawberry.Info[Context],
        input: Annotated[CreateCampaignInput, FIELDS],
    ) -> CampaignResult:
        source = input.traffic_source_id
        written = await service.create_weighted_campaign(
            info.context.session,
            workspace_id=_workspace(info),
            name=input.name,
            key=input.key,
            traffic_source_id=None if source is None else required_id(source, "traffic source"),
            offers=_weights(input.offers),
            cost_model=input.cost_model,
            cost_value=input.cost_value,
            attribution_window_days=input.attribution_window_days,
        )
        return _campaign(info, written)

    @strawberry.mutation(
        description="Change a campaign; `offers`, when given, replaces the whole rotation.",
        permission_classes=[IsAdmin],
    )
    @returns_errors
    async def update_campaign(
        self,
        info: strawberry.Info[Context],
        input: Annotated[UpdateCampaignInput, FIELDS],
    ) -> CampaignResult:
        source = input.traffic_source_id
        written = await service.update_weighted_campaign(
            info.context.session,
            workspace_id=_workspace(info),
            id=required_id(input.id, "campaign"),
            name=input.name,
            traffic_source_id=None
            if source is None
            else strawberry.Some(
                None if source.value is None else required_id(source.value, "traffic source")
            ),
            offers=None if input.offers is None else strawberry.Some(_weights(input.offers.value)),
            cost_model=input.cost_model,
            cost_value=input.cost_value,
            attribution_window_days=input.attribution_window_days,
        )
        return _campaign(info, written)

    @strawberry.mutation(
        description=f"Pause, activate or archive a campaign: {_STATUS_HELP} The tracking link "
        "of a paused or archived campaign answers 404.",
        permission_classes=[IsAdmin],
    )
    @returns_errors
    async def set_campaign_status(
        self, info: strawberry.Info[Context], id: ObjectId, status: NewStatus
    ) -> CampaignResult:
        row = await service.set_status(
            info.context.session,
            "campaign",
            workspace_id=_workspace(info),
            id=required_id(id, "campaign"),
            status=status,
        )
        info.context.loaders.campaign_by_id.prime(row.id, row, force=True)
        return CampaignType.from_row(row)

    @strawberry.mutation(
        description=_DELETE_HELP.format(what="a campaign"), permission_classes=[IsAdmin]
    )
    @returns_errors
    async def delete_campaign(self, info: strawberry.Info[Context], id: ObjectId) -> DeleteResult:
        number = required_id(id, "campaign")
        await service.delete(
            info.context.session, "campaign", workspace_id=_workspace(info), id=number
        )
        info.context.loaders.campaign_by_id.prime(number, None, force=True)
        return Deleted(id=id)

    @strawberry.mutation(
        description="Add a kind of event postbacks can report with type=<name>.",
        permission_classes=[IsAdmin],
    )
    @returns_errors
    async def create_conversion_type(
        self,
        info: strawberry.Info[Context],
        input: Annotated[CreateConversionTypeInput, FIELDS],
    ) -> ConversionTypeResult:
        row = await service.create_conversion_type(
            info.context.session,
            workspace_id=_workspace(info),
            name=input.name,
            counts_as_conversion=input.counts_as_conversion,
            counts_in_revenue=input.counts_in_revenue,
            duplicate_policy=input.duplicate_policy,
        )
        return ConversionTypeType.from_row(row)

    @strawberry.mutation(
        description="Change a conversion type; built-in ones keep their names.",
        permission_classes=[IsAdmin],
    )
    @returns_errors
    async def update_conversion_type(
        self,
        info: strawberry.Info[Context],
        input: Annotated[UpdateConversionTypeInput, FIELDS],
    ) -> ConversionTypeResult:
        row = await service.update_conversion_type(
            info.context.session,
            workspace_id=_workspace(info),
            id=required_id(input.id, "conversion type"),
            name=input.name,
            counts_as_conversion=input.counts_as_conversion,
            counts_in_revenue=input.counts_in_revenue,
            duplicate_policy=input.duplicate_policy,
        )
        return ConversionTypeType.from_row(row)

    @strawberry.mutation(
        description="Delete a custom conversion type no event has (built-in ones stay). "
        "Once events of the type are stored, the answer is InUse.",
        permission_classes=[IsAdmin],
    )
    @returns_errors
    async def delete_conversion_type(
        self, info: strawberry.Info[Context], id: ObjectId
    ) -> DeleteResult:
        await service.delete(
            info.context.session,
            "conversion_type",
            workspace_id=_workspace(info),
            id=required_id(id, "conversion type"),
        )
        return Deleted(id=id)

    @strawberry.mutation(
        description="Set the rate of a currency from a point in time on; payouts in it are "
        "converted with the newest rate valid when the conversion arrives.",
        permission_classes=[IsAdmin],
    )
    @returns_errors
    async def set_currency_rate(
        self,
        info: strawberry.Info[Context],
        input: Annotated[SetCurrencyRateInput, FIELDS],
    ) -> CurrencyRateResult:
        row = await service.set_currency_rate(
            info.context.session,
            workspace_id=_workspace(info),
            currency=input.currency,
            rate=input.rate,
            valid_from=input.valid_from or datetime.now(UTC),
        )
        return CurrencyRateType.from_row(row)

    @strawberry.mutation(
        description="Delete one rate; the answer is the rate as it was.",
        permission_classes=[IsAdmin],
    )
    @returns_errors
    async def delete_currency_rate(
        self,
        info: strawberry.Info[Context],
        currency: Annotated[str, strawberry.argument(description="ISO 4217 code.")],
        valid_from: Annotated[datetime, strawberry.argument(description="When the rate starts.")],
    ) -> CurrencyRateResult:
        row = await service.delete_currency_rate(
            info.context.session,
            workspace_id=_workspace(info),
            currency=currency,
            valid_from=valid_from,
        )
        return CurrencyRateType.from_row(row)
