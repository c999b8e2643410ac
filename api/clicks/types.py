"""GraphQL type for clicks, with their campaign, offer, source and events."""

import asyncio
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from operator import itemgetter
from typing import Annotated, Any

import strawberry
from sqlalchemy import Row
from strawberry.scalars import JSON

from api.catalog.references import load_references
from api.catalog.types import CampaignType, OfferType, TrafficSourceType
from api.context import Context
from api.conversions.types import ConversionEventType
from api.enums import ConversionStatus
from api.loaders import Loaders
from api.selection import Selection
from models.catalog import TRANSACTION_TYPE
from models.click import SUB_COUNT


def _ip_text(root: "ClickType") -> str | None:
    # Text only when a query selects it: turning every click's address into text cost ~4% of
    # a page of clicks that did not ask for it.
    return None if root.inet is None else str(root.inet)


@strawberry.type(name="Click", description="One visit through a tracking link.")
class ClickType:
    id: strawberry.ID = strawberry.field(
        description="Click id: what offers pass back as {clickid}."
    )
    created_at: datetime = strawberry.field(description="When the visitor clicked.")
    ip: str | None = strawberry.field(resolver=_ip_text, description="Visitor IP address.")
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
        description=f"sub1 to sub{SUB_COUNT} in order, up to the last one sent (null where "
        "not sent): a list of 2 means sub3 and later were not sent."
    )
    params: JSON = strawberry.field(description="Every query parameter of the visit.")
    # Plain data, not resolvers: the executor completes a page of plain clicks in one loop
    # (api/execution.py). load_many fills what the query selects; the campaign, which every
    # click has, is None until then.
    campaign: CampaignType | None = strawberry.field(
        default=None,
        graphql_type=CampaignType,
        description="The campaign whose tracking link was clicked.",
    )
    offer: OfferType | None = strawberry.field(
        default=None, description="The offer the visitor was sent to."
    )
    traffic_source: TrafficSourceType | None = strawberry.field(
        default=None, description="Where the click came from."
    )
    conversions: list[ConversionEventType] = strawberry.field(
        default_factory=list,
        description="Events whose type counts as a conversion, oldest first.",
    )
    transactions: list[ConversionEventType] = strawberry.field(
        default_factory=list, description="Transactions (type=transaction), oldest first."
    )
    # The address as asyncpg reads it (an ipaddress object).
    inet: strawberry.Private[object]
    campaign_id: strawberry.Private[int]
    offer_id: strawberry.Private[int | None]
    traffic_source_id: strawberry.Private[int | None]
    # Filled by load_many when the query selects any of the event lists.
    loaded_events: strawberry.Private[list[ConversionEventType]]

    @strawberry.field(description="Every event of the click, oldest first, optionally narrowed.")
    def events(
        self,
        types: Annotated[
            list[str] | None,
            strawberry.argument(
                description="Only these conversion types; null for every type, [] for none."
            ),
        ] = None,
        statuses: Annotated[
            list[ConversionStatus] | None,
            strawberry.argument(
                description="Only these statuses; null for every status, [] for none."
            ),
        ] = None,
    ) -> list[ConversionEventType]:
        # [] narrows to nothing, as an empty list does in every filter: only null means "any".
        return [
            event
            for event in self.loaded_events
            if (types is None or event.type in types)
            and (statuses is None or event.status in statuses)
        ]

    @classmethod
    async def load_many(
        cls, context: Context, rows: Sequence[Row[Any]], selections: Selection
    ) -> list["ClickType"]:
        """Clicks with what the query selects of their campaign, offer, source and events.

        Loading here, through the request's DataLoaders, instead of in a resolver per click
        and field, saves an asyncio task per click and field: most of a page's cost.
        """
        clicks = cls.from_rows(rows)
        wanted = selections.names()
        loaders = context.loaders
        jobs = [load_references(clicks, loaders, wanted)]
        if wanted & {"conversions", "transactions", "events"}:
            jobs.append(_attach_events(clicks, loaders))
        await asyncio.gather(*jobs)
        return clicks

    @classmethod
    def from_rows(cls, rows: Sequence[Row[Any]]) -> list["ClickType"]:
        """Clicks from the statement's rows, read by position: reading a Row's attribute by
        name costs ~0.6 us, and a click has forty columns."""
        if not rows:
            return []
        position = {name: i for i, name in enumerate(rows[0]._fields)}
        read = itemgetter(*(position[name] for name in _COLUMNS))
        read_subs = itemgetter(*(position[f"sub{n}"] for n in range(1, SUB_COUNT + 1)))
        clicks = []
        for row in rows:
            (
                id_,
                created_at,
                ip,
                user_agent,
                device_type,
                os,
                browser,
                is_bot,
                is_unique,
                country,
                referrer,
                external_id,
                cost,
                params,
                campaign_id,
                offer_id,
                traffic_source_id,
            ) = read(row)
            clicks.append(
                cls(
                    id=strawberry.ID(id_),
                    created_at=created_at,
                    inet=ip,
                    user_agent=user_agent,
                    device_type=device_type,
                    os=os,
                    browser=browser,
                    is_bot=is_bot,
                    is_unique=is_unique,
                    country=country,
                    referrer=referrer,
                    external_id=external_id,
                    cost=cost,
                    subs=_sent(read_subs(row)),
                    params=params,
                    campaign_id=campaign_id,
                    offer_id=offer_id,
                    traffic_source_id=traffic_source_id,
                    loaded_events=[],
                )
            )
        return clicks


# The columns from_rows reads, besides the subs, in the order it unpacks them.
_COLUMNS = (
    "id",
    "created_at",
    "ip",
    "user_agent",
    "device_type",
    "os",
    "browser",
    "is_bot",
    "is_unique",
    "country",
    "referrer",
    "external_id",
    "cost",
    "params",
    "campaign_id",
    "offer_id",
    "traffic_source_id",
)


def _sent(values: Sequence[str | None]) -> list[str | None]:
    # Most clicks carry a few subs: twenty list items each would cost more than the rest.
    subs = list(values)
    while subs and subs[-1] is None:
        subs.pop()
    return subs


async def _attach_events(clicks: list[ClickType], loaders: Loaders) -> None:
    rows = await loaders.events_by_click_id.load_many([click.id for click in clicks])
    for click, events in zip(clicks, rows, strict=True):
        click.loaded_events = [ConversionEventType.from_row(row) for row in events]
        click.conversions = [event for event in click.loaded_events if event.counts_as_conversion]
        click.transactions = [
            event for event in click.loaded_events if event.type == TRANSACTION_TYPE
        ]
