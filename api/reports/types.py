"""GraphQL types of the aggregate report."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import strawberry
from strawberry.scalars import JSON

from api.catalog.types import CampaignType, OfferType, TrafficSourceType
from api.dimensions import ReportDimension
from api.enums import graphql_enum


@graphql_enum(
    "Length of a report's time buckets, in the report's time zone.",
    HOUR="An hour.",
    DAY="A day, from midnight.",
    WEEK="A week, from Monday midnight.",
    MONTH="A calendar month, from midnight of its first day.",
)
class TimeBucket(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@graphql_enum(
    "Which time puts an event in a time bucket and a date range.",
    CLICK_TIME="The time of the click the event belongs to.",
    CONVERSION_TIME="The time the event was recorded.",
)
class ReportAttribution(StrEnum):
    CLICK_TIME = "click"
    CONVERSION_TIME = "conversion"


@graphql_enum(
    "A report metric, for ordering and `having` conditions.",
    CLICKS="Clicks.",
    UNIQUE_CLICKS="Unique clicks.",
    BOT_CLICKS="Clicks by known bots.",
    CONVERSIONS="Events of types that count as conversions.",
    TRANSACTIONS="Events of type `transaction`.",
    REVENUE="Amounts of types that count in revenue.",
    COST="What the traffic cost.",
    PROFIT="Revenue minus cost.",
    ROI="Profit / cost x 100.",
    CR="Conversions / clicks x 100.",
    EPC="Revenue per click.",
    CPA="Cost per conversion.",
    FORWARDED="Forwards the traffic source took (answered 2xx).",
    FORWARD_FAILED="Forwards dead-lettered: out of attempts, or refused for good.",
)
class ReportMetric(StrEnum):
    CLICKS = "clicks"
    UNIQUE_CLICKS = "unique_clicks"
    BOT_CLICKS = "bot_clicks"
    CONVERSIONS = "conversions"
    TRANSACTIONS = "transactions"
    REVENUE = "revenue"
    COST = "cost"
    PROFIT = "profit"
    ROI = "roi"
    CR = "cr"
    EPC = "epc"
    CPA = "cpa"
    FORWARDED = "forwarded"
    FORWARD_FAILED = "forward_failed"


@graphql_enum("Sort direction.", ASC="Smallest first.", DESC="Largest first.")
class SortDirection(StrEnum):
    ASC = "asc"
    DESC = "desc"


@graphql_enum(
    "Comparison of a `having` condition.",
    EQ="Equal to the value.",
    NE="Not equal to the value.",
    GT="Greater than the value.",
    GTE="Greater than or equal to the value.",
    LT="Less than the value.",
    LTE="Less than or equal to the value.",
)
class Comparison(StrEnum):
    EQ = "="
    NE = "<>"
    GT = ">"
    GTE = ">="
    LT = "<"
    LTE = "<="


@strawberry.input(description="One sort key: set exactly one of metric, dimension or bucket.")
class ReportOrder:
    metric: ReportMetric | None = strawberry.field(default=None, description="Sort by a metric.")
    dimension: ReportDimension | None = strawberry.field(
        default=None, description="Sort by a grouped dimension."
    )
    bucket: bool = strawberry.field(default=False, description="Sort by the time bucket.")
    direction: SortDirection = strawberry.field(
        default=SortDirection.DESC, description="Descending unless asked otherwise."
    )


@strawberry.input(description="Keeps only rows whose metric compares true to the value.")
class ReportCondition:
    metric: ReportMetric = strawberry.field(description="The metric to compare.")
    comparison: Comparison = strawberry.field(description="How to compare.")
    value: float = strawberry.field(description="What to compare with.")


@strawberry.type(description="Count and revenue of one conversion type.")
class TypeMetrics:
    type: str = strawberry.field(description="Conversion type name: conversion, transaction, ...")
    count: int = strawberry.field(description="How many events of the type.")
    revenue: Decimal = strawberry.field(description="Their amounts, in workspace currency.")


@strawberry.type(description="A subN value a report row is grouped by.")
class SubValue:
    index: int = strawberry.field(description="Which sub: 1 to 20.")
    value: str | None = strawberry.field(description="Its value; null when not sent.")


@strawberry.type(
    description="One group of a report (or the totals). Dimensions not grouped by are null. "
    "Money is in workspace currency, exact, as Decimal like event amounts; ratios (roi, cr) are "
    "floats. Only the metrics a query selects are computed."
)
class ReportRow:
    bucket: datetime | None = strawberry.field(
        description="Start of the time bucket, in the report's time zone."
    )
    country: str | None = strawberry.field(description="Country code, when grouped by it.")
    device_type: str | None = strawberry.field(description="Device type, when grouped by it.")
    os: str | None = strawberry.field(description="Operating system, when grouped by it.")
    browser: str | None = strawberry.field(description="Browser, when grouped by it.")
    subs: list[SubValue] = strawberry.field(description="The subN values grouped by.")
    clicks: int = strawberry.field(description="Clicks.")
    unique_clicks: int = strawberry.field(description="Unique clicks.")
    bot_clicks: int = strawberry.field(description="Clicks by known bots.")
    conversions: int = strawberry.field(description="Events of types that count as conversions.")
    transactions: int = strawberry.field(description="Events of type `transaction`.")
    revenue: Decimal = strawberry.field(description="Amounts of types that count in revenue.")
    cost: Decimal = strawberry.field(
        description="What the traffic cost: its clicks (CPC, CPM) and their events (CPA, "
        "RevShare) in the statuses counted."
    )
    profit: Decimal = strawberry.field(description="Revenue minus cost.")
    roi: float | None = strawberry.field(description="Profit / cost x 100; null without cost.")
    cr: float | None = strawberry.field(
        description="Conversions / clicks x 100; null without clicks."
    )
    epc: Decimal | None = strawberry.field(
        description="Revenue per click, to the millionth (half to even); null without clicks."
    )
    cpa: Decimal | None = strawberry.field(
        description="Cost per conversion, to the millionth (half to even); null without "
        "conversions."
    )
    forwarded: int = strawberry.field(
        description="Forwards of the group's events that the traffic source took (2xx); "
        "whatever the events' statuses, read from the raw tables (no rollup holds them)."
    )
    forward_failed: int = strawberry.field(
        description="Forwards of the group's events that were dead-lettered."
    )
    by_type: list[TypeMetrics] = strawberry.field(
        description="Count and revenue per conversion type: transactions apart from "
        "conversions, and every custom type."
    )
    # Plain data, not resolvers: the executor completes a thousand plain rows in one loop
    # (api/execution.py). The report resolver fills them when the query selects them.
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


@strawberry.type(
    description="The report's rows as arrays: what a BI pull of thousands of rows wants, "
    "cheaper than `rows` (no object per row, a smaller answer)."
)
class ReportTable:
    columns: list[str] = strawberry.field(
        description="Column names: the time bucket and grouped dimensions (campaignId, country, "
        "sub1, ...), then every metric (clicks ... cpa) as named in ReportRow."
    )
    rows: JSON = strawberry.field(
        description="One array per row, values in `columns` order: times in ISO 8601 with the "
        "report's offset, money as decimal strings (as the Decimal scalar), ratios as numbers, "
        "null where their divisor is zero."
    )


@strawberry.type(description="An aggregate report: its rows and their totals.")
class Report:
    rows: list[ReportRow] = strawberry.field(description="The groups, at most `first` of them.")
    totals: ReportRow = strawberry.field(
        description="Sums over every group that passed `having`, not only the rows returned."
    )
    total_rows: int = strawberry.field(description="Groups that passed `having`, on all pages.")
    table: ReportTable | None = strawberry.field(
        description="The same rows as arrays (null unless selected)."
    )
    source: str = strawberry.field(
        description="Where the figures came from: rollup_<name> (a daily or hourly rollup) or raw."
    )
