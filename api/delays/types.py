"""GraphQL types of the time-to-conversion histogram."""

import strawberry

from api.catalog.types import CampaignType, OfferType, TrafficSourceType


@strawberry.type(
    description="One bucket of the histogram: delays from `fromSeconds` up to "
    "(not including) `toSeconds`."
)
class DelayBucket:
    from_seconds: int = strawberry.field(description="Lower bound, included.")
    to_seconds: int | None = strawberry.field(
        description="Upper bound, excluded; null for the last, open-ended bucket."
    )
    label: str = strawberry.field(description="A short label such as `<10s`, `1-5m`, `>2w`.")


@strawberry.type(
    description="The delays of one event type within one group (or over all groups, in "
    "`totals`): seconds from the click to the event's recording."
)
class DelayRow:
    type: str = strawberry.field(description="Conversion type name: conversion, transaction, ...")
    key: str | None = strawberry.field(
        description="The group's value (an id for CAMPAIGN, OFFER and TRAFFIC_SOURCE); null in "
        "totals, without groupBy, and for clicks without the value."
    )
    events: int = strawberry.field(description="How many events.")
    counts: list[int] = strawberry.field(
        description="Events per bucket, in the order of `ConversionDelay.buckets`."
    )
    under_threshold: int = strawberry.field(
        description="Events recorded sooner than `thresholdSeconds` after their click."
    )
    share_under_threshold: float = strawberry.field(
        description="underThreshold / events, from 0 to 1."
    )
    flagged: bool = strawberry.field(
        description="Whether shareUnderThreshold reaches `flagShare`: so many events that soon "
        "after the click look like click injection or click spamming."
    )
    median_seconds: float = strawberry.field(description="The median delay, in seconds.")
    campaign: CampaignType | None = strawberry.field(
        default=None, description="The campaign, when grouped by it."
    )
    offer: OfferType | None = strawberry.field(
        default=None, description="The offer, when grouped by it."
    )
    traffic_source: TrafficSourceType | None = strawberry.field(
        default=None, description="The traffic source, when grouped by it."
    )
    campaign_id: strawberry.Private[int | None]
    offer_id: strawberry.Private[int | None]
    traffic_source_id: strawberry.Private[int | None]


@strawberry.type(description="Time to conversion: the histogram of delays per group and type.")
class ConversionDelay:
    buckets: list[DelayBucket] = strawberry.field(description="The histogram's buckets.")
    threshold_seconds: int = strawberry.field(description="The threshold asked for.")
    flag_share: float = strawberry.field(description="The share that flags a row.")
    rows: list[DelayRow] = strawberry.field(
        description="One row per group and event type, most events first; at most `first`."
    )
    totals: list[DelayRow] = strawberry.field(
        description="One row per event type over every group, most events first."
    )
    total_rows: int = strawberry.field(description="Rows on all pages.")
