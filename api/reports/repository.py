"""The report's SQL: one statement, from hourly rollups or from the raw tables.

Clicks and events are summed apart (a click's events must not multiply its clicks), each to
(dimensions, bucket) groups, then stacked with UNION ALL and summed again. Empty buckets of
the date range are joined in as zeros; derived metrics, `having`, order, page and totals are
computed on top, totals with window functions so they cover every group, not just the page.
"""

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    CTE,
    ColumnElement,
    DateTime,
    FromClause,
    Numeric,
    Row,
    ScalarSelect,
    Select,
    Subquery,
    Text,
    and_,
    bindparam,
    cast,
    column,
    func,
    literal,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from api.clicks.filters import CLICKS, EVENTS, TYPES, click_condition
from api.reports.plan import ReportPlan
from api.reports.types import Comparison, ReportAttribution, SortDirection
from models.catalog import TRANSACTION_TYPE
from models.rollups import MICROS, Rollup, pending

CLICK_SUMS = ("clicks", "unique_clicks", "bot_clicks", "cost")
EVENT_SUMS = ("conversions", "transactions", "revenue")
SUMS = CLICK_SUMS + EVENT_SUMS
DERIVED = ("profit", "roi", "cr", "epc", "cpa")
REPORT_WORK_MEM = "64MB"

_COMPARE = {
    Comparison.EQ: lambda a, b: a == b,
    Comparison.NE: lambda a, b: a != b,
    Comparison.GT: lambda a, b: a > b,
    Comparison.GTE: lambda a, b: a >= b,
    Comparison.LT: lambda a, b: a < b,
    Comparison.LTE: lambda a, b: a <= b,
}


async def report(
    engine: AsyncEngine, plan: ReportPlan, *, rollup: Rollup | None, timeout_ms: int
) -> Sequence[Row[Any]]:
    """The page of report rows; each carries the totals and the group count as well."""
    async with engine.connect() as conn, conn.begin():
        # A report over years of raw clicks must not hold a connection for minutes.
        await conn.execute(
            select(
                func.set_config("statement_timeout", str(timeout_ms), True),
                # Grouping raw clicks by day otherwise spills to disk at the default 4MB.
                func.set_config("work_mem", REPORT_WORK_MEM, True),
                # After five runs of a prepared report PostgreSQL may switch to a generic plan,
                # blind to the date range: the 90-day raw report went from 1.8 s to 4.3 s.
                # Planning a report costs a millisecond.
                func.set_config("plan_cache_mode", "force_custom_plan", True),
            )
        )
        rows: Sequence[Row[Any]] = (await conn.execute(statement(plan, rollup))).all()
        return rows


def statement(plan: ReportPlan, rollup: Rollup | None) -> Select[Any]:
    keys = _key_names(plan)
    # Raw reads scan the matching clicks once, for their own sums and to find their events.
    matched = None if rollup is not None else _matched_clicks(plan, in_range=True)
    sides = []
    if plan.needs_clicks:
        sides.append(_clicks_side(plan, rollup, matched))
    if plan.needs_events:
        if plan.attribution is ReportAttribution.CONVERSION_TIME and rollup is None:
            # The date range applies to the events; the rest of the filter to their clicks.
            matched = _matched_clicks(plan, in_range=False)
        sides.append(_events_side(plan, rollup, matched, keys))
    parts = (sides[0] if len(sides) == 1 else union_all(*sides)).subquery("parts")
    grouped = select(
        *(parts.c[k] for k in keys),
        *(func.sum(parts.c[s]).label(s) for s in SUMS),
        # At most one part of a group has per-type figures (the events part).
        cast(func.min(cast(parts.c.by_type, Text)), JSONB).label("by_type"),
    ).group_by(*(parts.c[k] for k in keys))
    # A CTE: filling empty buckets reads it twice.
    rows = _with_empty_buckets(plan, grouped.cte("grouped"), keys)
    metrics = _with_derived(rows).subquery("metrics")
    kept = (
        select(metrics)
        .where(*(_COMPARE[h.comparison](metrics.c[h.metric.value], h.value) for h in plan.having))
        .cte("kept")
    )
    return (
        select(
            kept,
            func.count().over().label("total_rows"),
            *(func.sum(kept.c[s]).over().label(f"total_{s}") for s in SUMS),
            (_total_by_type(kept) if "by_type" in plan.sums else null()).label("total_by_type"),
        )
        .order_by(*_order(plan, kept, keys))
        .limit(plan.first)
    )


def _key_names(plan: ReportPlan) -> list[str]:
    return [*plan.columns, *(["bucket"] if plan.bucket is not None else [])]


def _bucket(plan: ReportPlan, moment: ColumnElement[datetime]) -> ColumnElement[datetime]:
    assert plan.bucket is not None
    return func.date_trunc(plan.bucket.value, moment, plan.timezone, type_=DateTime(True))


def _keys(plan: ReportPlan, table: FromClause, moment: ColumnElement[datetime]) -> list[Any]:
    keys: list[Any] = [table.c[column] for column in plan.columns]
    if plan.bucket is not None:
        keys.append(_bucket(plan, moment).label("bucket"))
    return keys


def _zeros(names: Sequence[str]) -> list[Any]:
    return [literal(0).label(name) for name in names]


def _matched_clicks(plan: ReportPlan, *, in_range: bool) -> CTE:
    """The clicks the filter matches, with the columns the report reads."""
    click_filter = plan.filter
    if not in_range and click_filter is not None:
        click_filter = dataclasses.replace(click_filter, created_from=None, created_before=None)
    columns = ("workspace_id", "created_at", "id", "is_unique", "is_bot", "cost", *plan.columns)
    return (
        select(*(CLICKS.c[name] for name in dict.fromkeys(columns)))
        .where(click_condition(CLICKS, click_filter, workspace_id=plan.workspace_id))
        .cte("matched" if in_range else "matched_any_time")
    )


def _clicks_side(plan: ReportPlan, rollup: Rollup | None, matched: CTE | None) -> Select[Any]:
    if rollup is None:
        assert matched is not None
        c = matched.c
        keys = _keys(plan, matched, c.created_at)
        sums = [
            func.count().label("clicks"),
            func.count().filter(c.is_unique).label("unique_clicks"),
            func.count().filter(c.is_bot).label("bot_clicks"),
            func.sum(c.cost).label("cost"),
        ]
        where: ColumnElement[bool] = true()
        source: FromClause = matched
    else:
        r = _table(rollup.clicks_table)
        keys = _keys(plan, r, r.c[rollup.time_column])
        sums = [
            func.sum(r.c.clicks).label("clicks"),
            func.sum(r.c.unique_clicks).label("unique_clicks"),
            func.sum(r.c.bot_clicks).label("bot_clicks"),
            (func.sum(r.c.cost_micros) / _MICROS).label("cost"),
        ]
        where = _rollup_condition(plan, rollup, r)
        source = r
    return (
        select(*keys, *sums, *_zeros(EVENT_SUMS), null().cast(JSONB).label("by_type"))
        .select_from(source)
        .where(where)
        .group_by(*keys)
    )


def _events_side(
    plan: ReportPlan, rollup: Rollup | None, matched: CTE | None, names: list[str]
) -> Select[Any]:
    statuses = [status.value for status in plan.statuses]
    by_conversion_time = plan.attribution is ReportAttribution.CONVERSION_TIME
    if rollup is None:
        assert matched is not None
        e, c = EVENTS.c, matched.c
        moment = e.created_at if by_conversion_time else c.created_at
        keys = _keys(plan, matched, moment)
        # matched holds one workspace's clicks: joining on workspace_id as well would make the
        # planner guess it keeps 0.5% of them, and pick a nested loop over every click.
        source: FromClause = EVENTS.join(
            matched, and_(c.created_at == e.click_created_at, c.id == e.click_id)
        )
        where = and_(
            e.workspace_id == plan.workspace_id,
            e.status.in_(statuses),
            _range(plan, e.created_at if by_conversion_time else e.click_created_at),
        )
        count: ColumnElement[Any] = func.count()
        amount: ColumnElement[Any] = func.sum(e.amount)
        type_id: ColumnElement[Any] = e.type_id
    else:
        r = _table(rollup.events_table)
        keys = _keys(plan, r, r.c[rollup.time_column])
        source = r
        where = and_(
            _rollup_condition(plan, rollup, r),
            r.c.attribution == plan.attribution.value,
            r.c.status.in_(statuses),
        )
        count, amount = func.sum(r.c.events), func.sum(r.c.amount_micros) / _MICROS
        type_id = r.c.type_id
    t = TYPES.c
    typed = (
        select(
            *keys,
            t.name.label("type_name"),
            t.counts_as_conversion,
            t.counts_in_revenue,
            count.label("n"),
            amount.label("amount"),
        )
        .select_from(source.join(TYPES, and_(t.workspace_id == plan.workspace_id, t.id == type_id)))
        .where(where)
        .group_by(*keys, t.name, t.counts_as_conversion, t.counts_in_revenue)
        .subquery("typed")
    )
    by_type = (
        func.jsonb_object_agg(typed.c.type_name, func.jsonb_build_array(typed.c.n, typed.c.amount))
        if "by_type" in plan.sums
        else null().cast(JSONB)
    )
    return select(
        *(typed.c[k] for k in names),
        *_zeros(CLICK_SUMS),
        func.sum(typed.c.n).filter(typed.c.counts_as_conversion).label("conversions"),
        func.sum(typed.c.n).filter(typed.c.type_name == TRANSACTION_TYPE).label("transactions"),
        func.sum(typed.c.amount).filter(typed.c.counts_in_revenue).label("revenue"),
        by_type.label("by_type"),
    ).group_by(*(typed.c[k] for k in names))


_MICROS = literal(MICROS, Numeric)


def _table(name: str) -> Subquery:
    """A rollup table with the changes not yet folded into it (models.rollups.pending)."""
    tables = SQLModel.metadata.tables
    folded, unfolded = tables[name], tables[pending(name)]
    columns = [column.name for column in folded.columns]
    return union_all(
        select(*(folded.c[c] for c in columns)), select(*(unfolded.c[c] for c in columns))
    ).subquery(name)


def _range(plan: ReportPlan, moment: ColumnElement[datetime]) -> ColumnElement[bool]:
    f = plan.filter
    parts = []
    if f is not None and f.created_from is not None:
        parts.append(moment >= f.created_from)
    if f is not None and f.created_before is not None:
        parts.append(moment < f.created_before)
    return and_(true(), *parts)


def _rollup_condition(plan: ReportPlan, rollup: Rollup, table: Subquery) -> ColumnElement[bool]:
    """The filter on a rollup: only fields rollup_for() allowed are set."""
    parts = [table.c.workspace_id == plan.workspace_id, _range(plan, table.c[rollup.time_column])]
    if rollup.grain == "day":
        parts.append(table.c.timezone == plan.timezone)
    f = plan.filter
    if f is not None:
        for values, column in (
            (f.campaign_ids, "campaign_id"),
            (f.offer_ids, "offer_id"),
            (f.traffic_source_ids, "traffic_source_id"),
        ):
            if values is not None:
                parts.append(table.c[column].in_([int(v) for v in values]))
        for texts, column in ((f.countries, "country"), (f.device_types, "device_type")):
            if texts is not None:
                parts.append(table.c[column].in_(texts))
    return and_(*parts)


def _with_empty_buckets(plan: ReportPlan, grouped: CTE, keys: list[str]) -> Select[Any]:
    buckets = plan.buckets()
    if buckets is None:
        return select(grouped)
    series = (
        func.unnest(bindparam("buckets", buckets, type_=ARRAY(DateTime(True))))
        .table_valued("bucket")
        .render_derived("series")
    )
    dimensions = [k for k in keys if k != "bucket"]
    frame: FromClause = series
    on = [grouped.c.bucket == series.c.bucket]
    dimension_columns: list[Any] = []
    if dimensions:
        seen = select(*(grouped.c[d] for d in dimensions)).distinct().subquery("seen")
        frame = series.join(seen, true())
        on += [grouped.c[d].is_not_distinct_from(seen.c[d]) for d in dimensions]
        dimension_columns = [seen.c[d] for d in dimensions]
    return select(
        *dimension_columns,
        series.c.bucket,
        *(func.coalesce(grouped.c[s], 0).label(s) for s in SUMS),
        grouped.c.by_type,
    ).select_from(frame.outerjoin(grouped, and_(*on)))


def _with_derived(rows: Select[Any]) -> Select[Any]:
    r = rows.subquery("rows")
    revenue, cost = r.c.revenue, r.c.cost
    clicks, conversions = cast(r.c.clicks, Numeric), cast(r.c.conversions, Numeric)
    profit = revenue - cost
    return select(
        r,
        profit.label("profit"),
        (profit * 100 / func.nullif(cost, 0)).label("roi"),
        (conversions * 100 / func.nullif(clicks, 0)).label("cr"),
        (revenue / func.nullif(clicks, 0)).label("epc"),
        (cost / func.nullif(conversions, 0)).label("cpa"),
    )


def _total_by_type(kept: CTE) -> ScalarSelect[Any]:
    """Per-type sums over every kept group: the rows hold {type: [count, amount]} objects."""
    each = (
        func.jsonb_each(kept.c.by_type).table_valued("key", column("value", JSONB)).lateral("each")
    )
    per_type = (
        select(
            each.c.key,
            func.sum(cast(each.c.value[0].astext, Numeric)).label("n"),
            func.sum(cast(each.c.value[1].astext, Numeric)).label("amount"),
        )
        .select_from(kept)
        .join(each, true())
        .group_by(each.c.key)
        .subquery("per_type")
    )
    return (
        select(
            func.jsonb_object_agg(
                per_type.c.key, func.jsonb_build_array(per_type.c.n, per_type.c.amount)
            )
        )
        .select_from(per_type)
        .scalar_subquery()
    )


def _order(plan: ReportPlan, kept: CTE, keys: list[str]) -> list[Any]:
    order: list[Any] = []
    for o in plan.order:
        chosen = [
            name
            for name in (
                o.metric.value if o.metric else None,
                o.dimension.value if o.dimension else None,
                "bucket" if o.bucket else None,
            )
            if name
        ]
        column = kept.c[chosen[0]]
        order.append(
            column.asc().nulls_first()
            if o.direction is SortDirection.ASC
            else column.desc().nulls_last()
        )
    if not plan.order:
        if plan.bucket is not None:
            order.append(kept.c.bucket.asc())
        order.append(kept.c.clicks.desc() if plan.needs_clicks else kept.c.conversions.desc())
    # Ties broken by the keys: pages and dashboards see one stable order.
    order += [kept.c[k].asc().nulls_first() for k in keys]
    return order
