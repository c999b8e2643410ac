"""The `report` root field: dashboard tables and BI pulls."""

import re
from collections.abc import Sequence
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import strawberry
from asyncpg import Record
from strawberry.scalars import JSON

from api.catalog.references import load_references
from api.click_filter import ClickFilter
from api.context import Context
from api.dimensions import ReportDimension
from api.enums import ConversionStatus
from api.permissions import CanRead
from api.reports import service
from api.reports.money import divided, money
from api.reports.plan import ReportPlan
from api.reports.repository import CLICK_SUMS, EVENT_SUMS, FORWARD_SUMS, EventType, ReportRows
from api.reports.service import DEFAULT_ROWS, MAX_ROWS
from api.reports.types import (
    Report,
    ReportAttribution,
    ReportCondition,
    ReportOrder,
    ReportRow,
    ReportTable,
    SubValue,
    TimeBucket,
    TypeMetrics,
)
from api.selection import Selection, selection

# Metric columns of ReportTable, in order (snake case; the table names them in camel case).
TABLE_METRICS = (
    "clicks",
    "unique_clicks",
    "bot_clicks",
    "conversions",
    "transactions",
    "revenue",
    "cost",
    "profit",
    "roi",
    "cr",
    "epc",
    "cpa",
)
_SUB = re.compile(r"sub(\d+)")
SUMS = CLICK_SUMS + EVENT_SUMS + FORWARD_SUMS


@strawberry.type
class ReportQueries:
    @strawberry.field(
        permission_classes=[CanRead],
        description="Aggregates of clicks and their events, grouped and filtered: the "
        "dashboard table and the BI pull. Answered from rollups (daily in the workspace's time "
        "zone, hourly in UTC) when the filter and grouping allow (see `source`), from the raw "
        "tables otherwise.",
    )
    async def report(
        self,
        info: strawberry.Info[Context],
        filter: Annotated[
            ClickFilter | None,
            strawberry.argument(
                description="Which clicks; createdFrom/createdBefore is the date range (of "
                "conversions, with CONVERSION_TIME attribution). With a time bucket and both "
                "bounds, empty buckets come back as zeros."
            ),
        ] = None,
        group_by: Annotated[
            list[ReportDimension] | None,
            strawberry.argument(description="Dimensions to group by, besides the time bucket."),
        ] = None,
        time_bucket: Annotated[
            TimeBucket | None, strawberry.argument(description="Group by time as well.")
        ] = None,
        timezone: Annotated[
            str | None,
            strawberry.argument(
                description="IANA time zone of the buckets; the workspace's by default."
            ),
        ] = None,
        attribution: Annotated[
            ReportAttribution,
            strawberry.argument(
                description="Count events at their click's time (default) or their own."
            ),
        ] = ReportAttribution.CLICK_TIME,
        statuses: Annotated[
            list[ConversionStatus] | None,
            strawberry.argument(
                description="Event statuses counted in conversions, transactions and "
                "revenue; approved and pending when null, none when []."
            ),
        ] = None,
        order_by: Annotated[
            list[ReportOrder] | None,
            strawberry.argument(
                description="Sort keys; by default time bucket, then clicks descending."
            ),
        ] = None,
        having: Annotated[
            list[ReportCondition] | None,
            strawberry.argument(description="Keep only groups meeting every condition."),
        ] = None,
        first: Annotated[
            int | None,
            strawberry.argument(
                description=f"At most this many rows: default {DEFAULT_ROWS}, at most {MAX_ROWS}."
            ),
        ] = None,
    ) -> Report:
        context = info.context
        refused = context.report_errors.pop(str(info.path.key), None)
        if refused is not None:
            raise refused
        result = await service.report(
            context.engine,
            workspace_id=context.principal.workspace_id,
            timeout_ms=context.settings.report_timeout_ms,
            filter_=filter,
            group_by=group_by or (),
            time_bucket=time_bucket,
            timezone=timezone,
            attribution=attribution,
            statuses=statuses,
            order_by=order_by or (),
            having=having or (),
            first=first,
            metrics=selected_metrics(selection(info)),
        )
        plan = result.plan
        wanted = selection(info).names()
        row_fields = selection(info).under("rows").names()
        # A BI pull of the table alone builds no ReportRow objects.
        report_rows = (
            _rows(plan, result.rows, by_type="byType" in row_fields) if "rows" in wanted else []
        )
        await load_references(report_rows, context.loaders, row_fields)
        return Report(
            rows=report_rows,
            totals=_totals(result.rows),
            total_rows=result.rows.totals["total_rows"],
            table=_table(plan, result.rows.rows) if "table" in wanted else None,
            source=result.source,
        )


def selected_metrics(report: Selection) -> set[str]:
    """Snake-case names of every ReportRow field the query selects, in rows or totals."""
    fields = report.under("rows").names() | report.under("totals").names()
    if "table" in report.names():
        fields |= set(TABLE_METRICS)
    return {re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() for name in fields}


def table_columns(plan: ReportPlan) -> list[str]:
    """ReportTable.columns."""
    return [
        *(["bucket"] if plan.bucket is not None else []),
        *(_camel(column) for column in (*plan.columns, *TABLE_METRICS)),
    ]


def _table(plan: ReportPlan, rows: Sequence[Record]) -> ReportTable:
    """The rows as arrays, from the statement's rows: no ReportRow objects on the way."""
    columns = table_columns(plan)
    table: list[list[Any]] = []
    if rows:
        position = {name: i for i, name in enumerate(rows[0].keys())}
        zone = ZoneInfo(plan.timezone)
        bucket = position.get("bucket")
        dimensions = [position[column] for column in plan.columns]
        sums = [(name, i) for name in SUMS if (i := position.get(name)) is not None]
        for row in rows:
            values = [] if bucket is None else [row[bucket].astimezone(zone).isoformat()]
            values += [row[i] for i in dimensions]
            metrics = _metrics({name: row[i] for name, i in sums})
            values += [metrics[metric] for metric in TABLE_METRICS]
            table.append(values)
    return ReportTable(columns=columns, rows=JSON(table))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _rows(plan: ReportPlan, result: ReportRows, *, by_type: bool) -> list[ReportRow]:
    """Report rows from the statement's rows, read by position: a thousand rows are common.

    Derived metrics come from the sums in Python, as for the totals: the sums are the same
    integers from a rollup and from the raw tables, and so are the ratios.
    """
    rows = result.rows
    if not rows:
        return []
    position = {name: i for i, name in enumerate(rows[0].keys())}
    zone = ZoneInfo(plan.timezone)

    bucket, country, device, os, browser = (
        position.get(n) for n in ("bucket", "country", "device_type", "os", "browser")
    )
    campaign, offer, source = (
        position.get(n) for n in ("campaign_id", "offer_id", "traffic_source_id")
    )
    subs = [(int(m[1]), position[c]) for c in plan.columns if (m := _SUB.fullmatch(c))]
    sums = [(name, i) for name in SUMS if (i := position.get(name)) is not None]
    # Per-type figures are there when the rows or the totals select them.
    types = _type_positions(result.types, position) if by_type else []
    result_rows = []
    for row in rows:
        metrics = _metrics({name: row[i] for name, i in sums})
        result_rows.append(
            ReportRow(
                bucket=None if bucket is None else row[bucket].astimezone(zone),
                country=None if country is None else row[country],
                device_type=None if device is None else row[device],
                os=None if os is None else row[os],
                browser=None if browser is None else row[browser],
                subs=[SubValue(index=n, value=row[i]) for n, i in subs],
                campaign_id=None if campaign is None else row[campaign],
                offer_id=None if offer is None else row[offer],
                traffic_source_id=None if source is None else row[source],
                by_type=_by_type(row, types),
                **metrics,
            )
        )
    return result_rows


def _totals(result: ReportRows) -> ReportRow:
    totals = result.totals
    position = {name: i for i, name in enumerate(totals.keys())}
    return ReportRow(
        bucket=None,
        country=None,
        device_type=None,
        os=None,
        browser=None,
        subs=[],
        campaign_id=None,
        offer_id=None,
        traffic_source_id=None,
        by_type=_by_type(totals, _type_positions(result.types, position)),
        **_metrics({name: totals[i] for name in SUMS if (i := position.get(name)) is not None}),
    )


def _metrics(sums: dict[str, Any]) -> dict[str, Any]:
    """Every metric from the sums present; absent ones are zero.

    Money comes in integer millionths and leaves as exact decimals of millionths, as event
    amounts do; per-click and per-conversion money is rounded to the millionth in integers
    (Decimal arithmetic took 11 us a row). A ratio is one division of two integers, which
    Python rounds correctly.
    """
    clicks, conversions = int(sums.get("clicks") or 0), int(sums.get("conversions") or 0)
    revenue, cost = int(sums.get("revenue") or 0), int(sums.get("cost") or 0)
    profit = revenue - cost
    return {
        "clicks": clicks,
        "unique_clicks": int(sums.get("unique_clicks") or 0),
        "bot_clicks": int(sums.get("bot_clicks") or 0),
        "conversions": conversions,
        "transactions": int(sums.get("transactions") or 0),
        "revenue": money(revenue),
        "cost": money(cost),
        "profit": money(profit),
        "roi": profit * 100 / cost if cost else None,
        "cr": conversions * 100 / clicks if clicks else None,
        "epc": money(divided(revenue, clicks)) if clicks else None,
        "cpa": money(divided(cost, conversions)) if conversions else None,
        "forwarded": int(sums.get("forwarded") or 0),
        "forward_failed": int(sums.get("forward_failed") or 0),
    }


def _type_positions(
    types: Sequence[EventType], position: dict[str, int]
) -> list[tuple[str, int, int]]:
    """(type name, count column, amount column) of the types the rows hold, by name."""
    return sorted(
        (t.name, position[t.count_column], position[t.amount_column])
        for t in types
        if t.count_column in position
    )


def _by_type(row: Record, types: list[tuple[str, int, int]]) -> list[TypeMetrics]:
    """The types with events in the group (a rollup's pending rows may net out to none)."""
    return [
        TypeMetrics(type=name, count=int(row[n]), revenue=money(int(row[a] or 0)))
        for name, n, a in types
        if row[n]
    ]
