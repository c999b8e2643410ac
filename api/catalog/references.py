"""A row's campaign, offer and traffic source, loaded for a whole list at once.

Parents (a page of clicks, a report) load them here through the request's DataLoaders before
their children are resolved: an async resolver per row and field would cost an asyncio task
each, most of a large list's cost.
"""

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlalchemy import Row
from strawberry.dataloader import DataLoader

from api.catalog.types import CampaignType, OfferType, TrafficSourceType
from api.loaders import Loaders


class Referring(Protocol):
    """A row with catalog ids and plain attributes for what they refer to."""

    @property
    def campaign_id(self) -> int | None: ...
    @property
    def offer_id(self) -> int | None: ...
    @property
    def traffic_source_id(self) -> int | None: ...

    campaign: CampaignType | None
    offer: OfferType | None
    traffic_source: TrafficSourceType | None


async def load_references(items: Sequence[Referring], loaders: Loaders, selected: set[str]) -> None:
    """Sets each item's campaign, offer and source the query selects (GraphQL field names)."""
    jobs = []
    for graphql_name, attribute, loader, convert in (
        ("campaign", "campaign", loaders.campaign_by_id, CampaignType.from_row),
        ("offer", "offer", loaders.offer_by_id, OfferType.from_row),
        (
            "trafficSource",
            "traffic_source",
            loaders.traffic_source_by_id,
            TrafficSourceType.from_row,
        ),
    ):
        if graphql_name in selected:
            jobs.append(_load(items, attribute, loader, convert))
    await asyncio.gather(*jobs)


async def _load(
    items: Sequence[Referring],
    attribute: str,
    loader: DataLoader[int, Row[Any] | None],
    convert: Callable[[Row[Any]], Any],
) -> None:
    key = f"{attribute}_id"
    # A thousand report rows name a few dozen campaigns: a future per row cost milliseconds.
    ids = list(dict.fromkeys(i for item in items if (i := getattr(item, key)) is not None))
    rows = await loader.load_many(ids)
    converted = {i: convert(row) for i, row in zip(ids, rows, strict=True) if row is not None}
    for item in items:
        value = converted.get(getattr(item, key))
        if value is not None:
            setattr(item, attribute, value)
