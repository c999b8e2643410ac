"""Root query fields for what a workspace configures."""

from typing import Annotated

import strawberry

from api.arguments import ObjectId, StatusFilter
from api.catalog import repository
from api.catalog.types import (
    CampaignType,
    ConversionTypeType,
    CurrencyRateType,
    OfferType,
    TrafficSourceType,
)
from api.context import Context
from api.errors import QueryInputError
from api.ids import parse_id
from api.permissions import CanRead

MAX_LIST = 1_000
ListSize = Annotated[int, strawberry.argument(description=f"At most this many, up to {MAX_LIST}.")]


def _limit(first: int) -> int:
    if not 1 <= first <= MAX_LIST:
        raise QueryInputError(f"first must be 1 to {MAX_LIST}")
    return first


@strawberry.type
class CatalogQueries:
    @strawberry.field(
        description=f"The workspace's traffic sources by name (at most {MAX_LIST:,}).",
        permission_classes=[CanRead],
    )
    async def traffic_sources(
        self,
        info: strawberry.Info[Context],
        status: StatusFilter = None,
        first: ListSize = MAX_LIST,
    ) -> list[TrafficSourceType]:
        rows = await repository.listed_rows(
            info.context.engine,
            "traffic_source",
            workspace_id=info.context.principal.workspace_id,
            status=status,
            limit=_limit(first),
        )
        return [TrafficSourceType.from_row(row) for row in rows]

    @strawberry.field(
        description=f"The workspace's offers by name (at most {MAX_LIST:,}).",
        permission_classes=[CanRead],
    )
    async def offers(
        self,
        info: strawberry.Info[Context],
        status: StatusFilter = None,
        first: ListSize = MAX_LIST,
    ) -> list[OfferType]:
        rows = await repository.listed_rows(
            info.context.engine,
            "offer",
            workspace_id=info.context.principal.workspace_id,
            status=status,
            limit=_limit(first),
        )
        return [OfferType.from_row(row) for row in rows]

    @strawberry.field(
        description=f"The workspace's campaigns by name (at most {MAX_LIST:,}).",
        permission_classes=[CanRead],
    )
    async def campaigns(
        self,
        info: strawberry.Info[Context],
        status: StatusFilter = None,
        first: ListSize = MAX_LIST,
    ) -> list[CampaignType]:
        rows = await repository.listed_rows(
            info.context.engine,
            "campaign",
            workspace_id=info.context.principal.workspace_id,
            status=status,
            limit=_limit(first),
        )
        return [CampaignType.from_row(row) for row in rows]

    @strawberry.field(description="One traffic source.", permission_classes=[CanRead])
    async def traffic_source(
        self, info: strawberry.Info[Context], id: ObjectId
    ) -> TrafficSourceType | None:
        number = parse_id(id)
        row = (
            None if number is None else await info.context.loaders.traffic_source_by_id.load(number)
        )
        return None if row is None else TrafficSourceType.from_row(row)

    @strawberry.field(description="One offer.", permission_classes=[CanRead])
    async def offer(self, info: strawberry.Info[Context], id: ObjectId) -> OfferType | None:
        number = parse_id(id)
        row = None if number is None else await info.context.loaders.offer_by_id.load(number)
        return None if row is None else OfferType.from_row(row)

    @strawberry.field(description="One campaign.", permission_classes=[CanRead])
    async def campaign(self, info: strawberry.Info[Context], id: ObjectId) -> CampaignType | None:
        number = parse_id(id)
        row = None if number is None else await info.context.loaders.campaign_by_id.load(number)
        return None if row is None else CampaignType.from_row(row)

    @strawberry.field(
        description="The workspace's conversion types, oldest (the built-in ones) first.",
        permission_classes=[CanRead],
    )
    async def conversion_types(self, info: strawberry.Info[Context]) -> list[ConversionTypeType]:
        rows = await info.context.loaders.conversion_types.load(None)
        return [ConversionTypeType.from_row(rows[id]) for id in sorted(rows)]

    @strawberry.field(
        description=(
            f"Exchange rates into the workspace currency, by currency, newest first "
            f"(at most {MAX_LIST:,})."
        ),
        permission_classes=[CanRead],
    )
    async def currency_rates(
        self,
        info: strawberry.Info[Context],
        currency: Annotated[
            str | None, strawberry.argument(description="Only rates of this ISO 4217 currency.")
        ] = None,
        first: ListSize = MAX_LIST,
    ) -> list[CurrencyRateType]:
        rows = await repository.currency_rates(
            info.context.engine,
            workspace_id=info.context.principal.workspace_id,
            currency=currency,
            limit=_limit(first),
        )
        return [CurrencyRateType.from_row(row) for row in rows]
