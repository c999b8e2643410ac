"""GraphQL inputs for managing sources, offers, campaigns, conversion types and rates.

Update inputs use `Maybe`: a field the client leaves out stays as it is.
"""

from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry import Maybe

from api.enums import CostModel, DuplicatePolicy


@strawberry.input(description="A new traffic source.")
class CreateTrafficSourceInput:
    name: str = strawberry.field(description="Display name, unique in the workspace.")
    click_id_param: str | None = strawberry.field(
        default=None, description="Query parameter carrying the source's own click id, e.g. gclid."
    )


@strawberry.input(description="Changes to a traffic source; fields left out stay as they are.")
class UpdateTrafficSourceInput:
    id: strawberry.ID = strawberry.field(description="The traffic source to change.")
    name: Maybe[str] = strawberry.field(description="New display name.")
    click_id_param: Maybe[str | None] = strawberry.field(
        description="New click id parameter; null removes it."
    )


@strawberry.input(description="A new offer.")
class CreateOfferInput:
    name: str = strawberry.field(description="Display name, unique in the workspace.")
    url: str = strawberry.field(
        description="Absolute http(s) URL template, with macros such as {clickid} and {sub1}."
    )
    payout: Decimal | None = strawberry.field(
        default=None, description="Used when a postback carries no amount."
    )
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217 currency of the payout; default: the workspace's."
    )


@strawberry.input(description="Changes to an offer; fields left out stay as they are.")
class UpdateOfferInput:
    id: strawberry.ID = strawberry.field(description="The offer to change.")
    name: Maybe[str] = strawberry.field(description="New display name.")
    url: Maybe[str] = strawberry.field(description="New URL template.")
    payout: Maybe[Decimal | None] = strawberry.field(description="New payout; null removes it.")
    currency: Maybe[str] = strawberry.field(description="New ISO 4217 currency of the payout.")


@strawberry.input(description="An offer in a campaign's rotation.")
class WeightedOfferInput:
    offer_id: strawberry.ID = strawberry.field(description="The offer.")
    weight: int = strawberry.field(
        default=100, description="Relative share of the traffic, 1 to 10,000."
    )


@strawberry.input(description="A new campaign: a tracking link rotating between offers.")
class CreateCampaignInput:
    name: str = strawberry.field(description="Display name, unique in the workspace.")
    offers: list[WeightedOfferInput] = strawberry.field(
        description="1 to 100 existing offers with their weights."
    )
    key: str | None = strawberry.field(
        default=None,
        description="The tracking link's path segment (4 to 64 of A-Z a-z 0-9 - _); "
        "default: 72 random bits. It cannot change later: networks hold the link.",
    )
    traffic_source_id: strawberry.ID | None = strawberry.field(
        default=None, description="Where the traffic comes from."
    )
    cost_model: CostModel = strawberry.field(
        default=CostModel.NONE, description="How the traffic is paid for."
    )
    cost_value: Decimal = strawberry.field(
        default=Decimal(0),
        description="Per click (CPC), per 1,000 clicks (CPM), per conversion (CPA) "
        "or percent of revenue (RevShare, 0 to 100).",
    )
    attribution_window_days: int = strawberry.field(
        default=30, description="Postbacks for clicks older than this are refused (1 to 365)."
    )


@strawberry.input(description="Changes to a campaign; fields left out stay as they are.")
class UpdateCampaignInput:
    id: strawberry.ID = strawberry.field(description="The campaign to change.")
    name: Maybe[str] = strawberry.field(description="New display name.")
    offers: Maybe[list[WeightedOfferInput]] = strawberry.field(
        description="The new rotation: replaces the whole list of offers and weights."
    )
    traffic_source_id: Maybe[strawberry.ID | None] = strawberry.field(
        description="New traffic source; null removes it."
    )
    cost_model: Maybe[CostModel] = strawberry.field(description="New cost model.")
    cost_value: Maybe[Decimal] = strawberry.field(description="New cost value.")
    attribution_window_days: Maybe[int] = strawberry.field(
        description="New attribution window in days (1 to 365)."
    )


@strawberry.input(description="A new kind of event postbacks can report (type=...).")
class CreateConversionTypeInput:
    name: str = strawberry.field(description="What postbacks send as `type`: 1 to 32 of a-z 0-9 _.")
    counts_as_conversion: bool = strawberry.field(
        description="Its events count in the Conversions column."
    )
    counts_in_revenue: bool = strawberry.field(description="Its amounts count in Revenue.")
    duplicate_policy: DuplicatePolicy = strawberry.field(
        description="What a repeat of (click, type, transaction id) does."
    )


@strawberry.input(description="Changes to a conversion type; fields left out stay as they are.")
class UpdateConversionTypeInput:
    id: strawberry.ID = strawberry.field(description="The conversion type to change.")
    name: Maybe[str] = strawberry.field(
        description="New name; the built-in `conversion` and `transaction` cannot be renamed."
    )
    counts_as_conversion: Maybe[bool] = strawberry.field(
        description="Whether its events count in the Conversions column."
    )
    counts_in_revenue: Maybe[bool] = strawberry.field(
        description="Whether its amounts count in Revenue."
    )
    duplicate_policy: Maybe[DuplicatePolicy] = strawberry.field(
        description="What a repeat of (click, type, transaction id) does."
    )


@strawberry.input(description="An exchange rate into the workspace currency.")
class SetCurrencyRateInput:
    currency: str = strawberry.field(description="ISO 4217 code of the foreign currency.")
    rate: Decimal = strawberry.field(description="Workspace currency per unit of `currency`.")
    valid_from: datetime | None = strawberry.field(
        default=None,
        description="From when it applies (with a time zone offset); default: now. A rate "
        "with the same currency and time is replaced.",
    )
