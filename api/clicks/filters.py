"""The click filter: what dashboards and BI tools narrow clicks (and reports) down by."""

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import ColumnElement, Table, and_, exists, not_, or_, select, true

from api.enums import ConversionStatus
from api.errors import QueryInputError
from models import Click, ConversionEvent, ConversionType
from models.base import table_of
from models.catalog import TRANSACTION_TYPE

MAX_LIST_LENGTH = 1_000
MAX_NESTING = 5
SUB_COUNT = 20

CLICKS = table_of(Click)
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


def click_condition(
    clicks: Table, filter_: ClickFilter | None, *, workspace_id: int
) -> ColumnElement[bool]:
    """The WHERE clause for ``filter_`` on ``clicks`` (the clicks table or an alias of it)."""
    condition = clicks.c.workspace_id == workspace_id
    if filter_ is not None:
        condition = and_(condition, _condition(clicks, filter_, workspace_id, depth=0))
    return condition


def _condition(
    clicks: Table, f: ClickFilter, workspace_id: int, *, depth: int
) -> ColumnElement[bool]:
    if depth > MAX_NESTING:
        raise QueryInputError(f"filters nest at most {MAX_NESTING} levels deep")
    c = clicks.c
    parts: list[ColumnElement[bool]] = []
    if f.created_from is not None:
        parts.append(c.created_at >= aware(f.created_from, "createdFrom"))
    if f.created_before is not None:
        parts.append(c.created_at < aware(f.created_before, "createdBefore"))
    for column, values, name in (
        (c.campaign_id, f.campaign_ids, "campaignIds"),
        (c.offer_id, f.offer_ids, "offerIds"),
        (c.traffic_source_id, f.traffic_source_ids, "trafficSourceIds"),
    ):
        if values is not None:
            parts.append(column.in_(_ids(values, name)))
    for column, texts, name in (
        (c.country, f.countries, "countries"),
        (c.device_type, f.device_types, "deviceTypes"),
        (c.os, f.oses, "oses"),
        (c.browser, f.browsers, "browsers"),
    ):
        if texts is not None:
            parts.append(column.in_(bounded(texts, name)))
    if f.is_bot is not None:
        parts.append(c.is_bot.is_(f.is_bot))
    if f.is_unique is not None:
        parts.append(c.is_unique.is_(f.is_unique))
    for sub in bounded(f.subs or [], "subs"):
        if not 1 <= sub.index <= SUB_COUNT:
            raise QueryInputError(f"sub index must be 1 to {SUB_COUNT}, got {sub.index}")
        parts.append(c[f"sub{sub.index}"].in_(bounded(sub.values, f"sub{sub.index} values")))
    if f.has_conversion is not None:
        has = _has_event(clicks, workspace_id, TYPES.c.counts_as_conversion.is_(True))
        parts.append(has if f.has_conversion else not_(has))
    if f.has_transaction is not None:
        has = _has_event(clicks, workspace_id, TYPES.c.name == TRANSACTION_TYPE)
        parts.append(has if f.has_transaction else not_(has))
    if f.event_types is not None or f.event_statuses is not None:
        event: list[ColumnElement[bool]] = []
        if f.event_types is not None:
            event.append(TYPES.c.name.in_(bounded(f.event_types, "eventTypes")))
        if f.event_statuses is not None:
            statuses = bounded(f.event_statuses, "eventStatuses")
            event.append(EVENTS.c.status.in_([status.value for status in statuses]))
        parts.append(_has_event(clicks, workspace_id, and_(*event)))
    if f.and_ is not None:
        parts.extend(
            _condition(clicks, nested, workspace_id, depth=depth + 1)
            for nested in bounded(f.and_, "and")
        )
    if f.or_ is not None:
        nested_or = [
            _condition(clicks, nested, workspace_id, depth=depth + 1)
            for nested in bounded(f.or_, "or")
        ]
        parts.append(or_(*nested_or) if nested_or else ~true())
    if f.not_ is not None:
        # IS NOT TRUE rather than NOT: a click whose country is unknown is "not DE" too, where
        # NOT (country = 'DE') would be NULL and drop it.
        parts.append(_condition(clicks, f.not_, workspace_id, depth=depth + 1).is_not(true()))
    return and_(true(), *parts)


def _has_event(
    clicks: Table, workspace_id: int, condition: ColumnElement[bool]
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


def aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise QueryInputError(f"{name} needs a time zone offset, e.g. 2026-11-01T00:00:00Z")
    return value


def bounded(values: list[Any], name: str) -> list[Any]:
    if len(values) > MAX_LIST_LENGTH:
        raise QueryInputError(f"{name} takes at most {MAX_LIST_LENGTH} values")
    return values


def _ids(values: list[strawberry.ID], name: str) -> list[int]:
    try:
        return [int(value) for value in bounded(values, name)]
    except ValueError:
        raise QueryInputError(f"{name} must be numeric ids") from None
