"""The click filter: what dashboards and BI tools narrow clicks (and reports) down by.

Shared by the domains that read clicks (their pages, the reports, the compiled reads), so
none of them reaches into another for it.
"""

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import ColumnElement, FromClause, String, and_, exists, not_, or_, select, true

from api.dimensions import ReportDimension
from api.enums import ConversionStatus
from api.errors import QueryInputError
from api.values import bounded, checked_time, row_ids
from models import Click, ConversionEvent, ConversionType
from models.base import table_of
from models.catalog import TRANSACTION_TYPE
from models.click import SUB_COUNT

MAX_NESTING = 5
# Filters in all (the outer one and those under and, or, not) and values in all (list items,
# subs entries and their values): SQL for the largest builds in a few milliseconds.
MAX_FILTERS = 50
MAX_VALUES = 5_000

CLICKS = table_of(Click)
# Dimensions a click may lack (NULL, or for text an empty string): all but its campaign.
ALWAYS_SET = frozenset({ReportDimension.CAMPAIGN})
# sub1..subN: as many as the model has.
EVENTS = table_of(ConversionEvent)
TYPES = table_of(ConversionType)


@strawberry.input(description="A subN parameter and the values it may have.")
class SubValueFilter:
    index: int = strawberry.field(description="Which sub: 1 to 20.")
    values: list[str] = strawberry.field(description="Any of these values matches.")


@strawberry.input(
    description=(
        "Narrows clicks down. Fields combine with AND; `and`, `or` and `not` nest further "
        "filters. Lists match any of their values, so [] matches nothing; a null or omitted "
        "field does not narrow."
    )
)
class ClickFilter:
    created_from: datetime | None = strawberry.field(
        default=None, description="Clicks at or after this time."
    )
    created_before: datetime | None = strawberry.field(
        default=None, description="Clicks before this time."
    )
    campaign_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Clicks of these campaigns."
    )
    offer_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Clicks sent to these offers."
    )
    traffic_source_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Clicks from these traffic sources."
    )
    countries: list[str] | None = strawberry.field(
        default=None, description="ISO 3166-1 alpha-2 country codes, e.g. US, DE."
    )
    device_types: list[str] | None = strawberry.field(
        default=None, description="Device types: desktop, mobile, tablet, ..."
    )
    oses: list[str] | None = strawberry.field(default=None, description="Operating systems.")
    browsers: list[str] | None = strawberry.field(default=None, description="Browsers.")
    is_bot: bool | None = strawberry.field(
        default=None, description="Only bot (true) or only human (false) clicks."
    )
    is_unique: bool | None = strawberry.field(
        default=None, description="Only unique (true) or only repeat (false) clicks."
    )
    subs: list[SubValueFilter] | None = strawberry.field(
        default=None, description="subN values; several entries must all match."
    )
    missing: list[ReportDimension] | None = strawberry.field(
        default=None,
        description="Clicks with no value for every one of these dimensions: null, or an "
        "empty string for text (the report's group whose value is null). Not CAMPAIGN: every "
        "click has one. [] is refused; for clicks that have a value, use `not`.",
    )
    # Events in any status, unlike a report's default of approved and pending: this filter
    # asks what happened to the click, not what counts.
    has_conversion: bool | None = strawberry.field(
        default=None,
        description="Clicks with (true) or without (false) an event counted as a conversion, "
        "in any status, declined too; for one in given statuses, combine eventTypes with "
        "eventStatuses.",
    )
    has_transaction: bool | None = strawberry.field(
        default=None,
        description="Clicks with (true) or without (false) a transaction, in any status, "
        "declined too; for one in given statuses, combine eventTypes with eventStatuses.",
    )
    event_types: list[str] | None = strawberry.field(
        default=None,
        description="Clicks with an event of one of these types (with `eventStatuses`: "
        "an event matching both).",
    )
    event_statuses: list[ConversionStatus] | None = strawberry.field(
        default=None, description="Clicks with an event in one of these statuses."
    )
    and_: list["ClickFilter"] | None = strawberry.field(
        default=None, name="and", description="Every one of these filters matches."
    )
    or_: list["ClickFilter"] | None = strawberry.field(
        default=None, name="or", description="At least one of these filters matches."
    )
    not_: "ClickFilter | None" = strawberry.field(
        default=None, name="not", description="This filter does not match."
    )


def check_click_filter(filter_: ClickFilter | None) -> None:
    """Refuses a filter too large or too deep, or with a value no click can have, before any
    SQL is built: a filter of 27,000 nested filters took seconds to turn into SQL."""
    if filter_ is None:
        return
    filters = values = 0
    pending = [(filter_, 0)]
    while pending:
        f, depth = pending.pop()
        filters += 1
        if depth > MAX_NESTING:
            raise QueryInputError(f"filters nest at most {MAX_NESTING} levels deep")
        if filters > MAX_FILTERS:
            raise QueryInputError(
                f"a filter holds at most {MAX_FILTERS} filters in all (itself and those under "
                "and, or, not)"
            )
        for moment, name in ((f.created_from, "createdFrom"), (f.created_before, "createdBefore")):
            if moment is not None:
                checked_time(moment, name)
        for ids, name in (
            (f.campaign_ids, "campaignIds"),
            (f.offer_ids, "offerIds"),
            (f.traffic_source_ids, "trafficSourceIds"),
        ):
            if ids is not None:
                values += len(row_ids(ids, name))
        lists: tuple[tuple[list[str] | list[ConversionStatus] | None, str], ...] = (
            (f.countries, "countries"),
            (f.device_types, "deviceTypes"),
            (f.oses, "oses"),
            (f.browsers, "browsers"),
            (f.event_types, "eventTypes"),
            (f.event_statuses, "eventStatuses"),
        )
        for items, name in lists:
            if items is not None:
                values += len(bounded(list(items), name))
        for sub in bounded(f.subs or [], "subs"):
            if not 1 <= sub.index <= SUB_COUNT:
                raise QueryInputError(f"sub index must be 1 to {SUB_COUNT}, got {sub.index}")
            values += 1 + len(bounded(sub.values, f"sub{sub.index} values"))
        if f.missing is not None:
            values += len(checked_missing(f.missing))
        if values > MAX_VALUES:
            raise QueryInputError(f"a filter holds at most {MAX_VALUES} values in all")
        for nested, name in ((f.and_, "and"), (f.or_, "or")):
            pending.extend((inner, depth + 1) for inner in bounded(nested or [], name))
        if f.not_ is not None:
            pending.append((f.not_, depth + 1))


def checked_missing(dimensions: list[ReportDimension]) -> list[ReportDimension]:
    if not dimensions:
        raise QueryInputError("missing names at least one dimension (or leave it out)")
    for dimension in bounded(dimensions, "missing"):
        if dimension in ALWAYS_SET:
            raise QueryInputError(
                f"missing cannot name {dimension.name}: every click has a {dimension.name.lower()}"
            )
    return dimensions


def missing_condition(column: ColumnElement[Any]) -> ColumnElement[bool]:
    """No value: NULL for every column, or an empty string for a text one."""
    if isinstance(column.type, String):
        return or_(column.is_(None), column == "")
    return column.is_(None)


def click_condition(
    clicks: FromClause, filter_: ClickFilter | None, *, workspace_id: int
) -> ColumnElement[bool]:
    """The WHERE clause for ``filter_`` on ``clicks`` (the clicks table or an alias of it)."""
    check_click_filter(filter_)
    condition = clicks.c.workspace_id == workspace_id
    if filter_ is not None:
        condition = and_(condition, _condition(clicks, filter_, workspace_id))
    return condition


def _condition(clicks: FromClause, f: ClickFilter, workspace_id: int) -> ColumnElement[bool]:
    c = clicks.c
    parts: list[ColumnElement[bool]] = []
    if f.created_from is not None:
        parts.append(c.created_at >= f.created_from)
    if f.created_before is not None:
        parts.append(c.created_at < f.created_before)
    for column, values, name in (
        (c.campaign_id, f.campaign_ids, "campaignIds"),
        (c.offer_id, f.offer_ids, "offerIds"),
        (c.traffic_source_id, f.traffic_source_ids, "trafficSourceIds"),
    ):
        if values is not None:
            parts.append(column.in_(row_ids(values, name)))
    for column, texts in (
        (c.country, f.countries),
        (c.device_type, f.device_types),
        (c.os, f.oses),
        (c.browser, f.browsers),
    ):
        if texts is not None:
            parts.append(column.in_(texts))
    if f.is_bot is not None:
        parts.append(c.is_bot.is_(f.is_bot))
    if f.is_unique is not None:
        parts.append(c.is_unique.is_(f.is_unique))
    for sub in f.subs or []:
        parts.append(c[f"sub{sub.index}"].in_(sub.values))
    for dimension in f.missing or []:
        parts.append(missing_condition(c[dimension.value]))
    if f.has_conversion is not None:
        has = _has_event(clicks, workspace_id, TYPES.c.counts_as_conversion.is_(True))
        parts.append(has if f.has_conversion else not_(has))
    if f.has_transaction is not None:
        has = _has_event(clicks, workspace_id, TYPES.c.name == TRANSACTION_TYPE)
        parts.append(has if f.has_transaction else not_(has))
    if f.event_types is not None or f.event_statuses is not None:
        event: list[ColumnElement[bool]] = []
        if f.event_types is not None:
            event.append(TYPES.c.name.in_(f.event_types))
        if f.event_statuses is not None:
            event.append(EVENTS.c.status.in_([status.value for status in f.event_statuses]))
        parts.append(_has_event(clicks, workspace_id, and_(*event)))
    if f.and_ is not None:
        parts.extend(_condition(clicks, nested, workspace_id) for nested in f.and_)
    if f.or_ is not None:
        nested_or = [_condition(clicks, nested, workspace_id) for nested in f.or_]
        parts.append(or_(*nested_or) if nested_or else ~true())
    if f.not_ is not None:
        # IS NOT TRUE rather than NOT: a click whose country is unknown is "not DE" too, where
        # NOT (country = 'DE') would be NULL and drop it.
        parts.append(_condition(clicks, f.not_, workspace_id).is_not(true()))
    return and_(true(), *parts)


def _has_event(
    clicks: FromClause, workspace_id: int, condition: ColumnElement[bool]
) -> ColumnElement[bool]:
    return exists(
        select(1)
        .select_from(
            EVENTS.join(
                TYPES,
                and_(TYPES.c.workspace_id == EVENTS.c.workspace_id, TYPES.c.id == EVENTS.c.type_id),
            )
        )
        .where(
            EVENTS.c.workspace_id == workspace_id,
            EVENTS.c.click_created_at == clicks.c.created_at,
            EVENTS.c.click_id == clicks.c.id,
            condition,
        )
    )
