"""The report's SQL: one statement, from rollups or from the raw tables.

Clicks and events are summed apart (a click's events must not multiply its clicks): both come
as rows of (dimensions, bucket, click sums, type_id, event sums), stacked with UNION ALL and
summed once per group, the event sums into a count and an amount column per conversion type.
Empty buckets of the date range are joined in as zeros; `having`, order and page are applied on
top, and the totals over every kept group (not only the page) come back as the first row.

Sums are integers: counts are bigint, money is millionths of the workspace currency (as
rollups store it) in numeric, since a report's totals can pass a bigint's 9.2 x 10^18
millionths. Money leaves as text: asyncpg decodes numeric into Decimal at ~2-3x the cost of
text, and Python turns the integer text into an int as fast as it takes a bigint.

The statement is text with positional parameters rather than a SQLAlchemy expression: building
and compiling the expression took 10-13 ms a report, as long as most rollup reads take in
PostgreSQL. Every name in the text comes from the report's enums and the rollup definitions,
every value is a parameter; the raw click filter is compiled from its SQLAlchemy expression.
"""

import dataclasses
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from api.click_filter import CLICKS, ClickFilter, click_condition
from api.database import fetch_count
from api.errors import QueryInputError
from api.reports.plan import ReportPlan
from api.reports.types import ReportAttribution, SortDirection
from models.catalog import TRANSACTION_TYPE
from models.database import driver_connection
from models.rollups import CLICKS_PENDING, EVENTS_PENDING, MICROS, Rollup

CLICK_SUMS = ("clicks", "unique_clicks", "bot_clicks", "cost")
EVENT_SUMS = ("conversions", "transactions", "revenue")
FORWARD_SUMS = ("forwarded", "forward_failed")
# Sums in millionths of the workspace currency, besides each type's amount column.
MONEY_SUMS = frozenset({"cost", "revenue"})
REPORT_WORK_MEM = "64MB"
_ID_DIMENSIONS = frozenset({"campaign_id", "offer_id", "traffic_source_id"})
# Having and order compare metrics in workspace currency and percent, as the API shows them.
_METRICS = {
    "clicks": "clicks",
    "unique_clicks": "unique_clicks",
    "bot_clicks": "bot_clicks",
    "conversions": "conversions",
    "transactions": "transactions",
    "cost": f"(cost::numeric / {MICROS})",
    "revenue": f"(revenue::numeric / {MICROS})",
    "profit": f"((revenue - cost)::numeric / {MICROS})",
    "roi": "((revenue - cost)::numeric * 100 / nullif(cost, 0))",
    "cr": "(conversions::numeric * 100 / nullif(clicks, 0))",
    "epc": f"(revenue::numeric / {MICROS} / nullif(clicks, 0))",
    "cpa": f"(cost::numeric / {MICROS} / nullif(conversions, 0))",
    "forwarded": "forwarded",
    "forward_failed": "forward_failed",
}


@dataclass(frozen=True, slots=True)
class EventType:
    """A conversion type of the workspace; reports sum each one into columns of its own."""

    id: int
    name: str
    counts_as_conversion: bool
    counts_in_revenue: bool

    @property
    def count_column(self) -> str:
        return f"n{self.id}"

    @property
    def amount_column(self) -> str:
        return f"a{self.id}"


@dataclass(frozen=True, slots=True)
class ReportRows:
    """The page of groups, the totals over every kept group, and the types they count."""

    rows: Sequence[asyncpg.Record]
    totals: asyncpg.Record
    types: tuple[EventType, ...]


# The report's limits, $1 the statement timeout in ms. A statement of their own, without a
# table: on Citus one that also reads a table is sent whole to the worker holding it, and the
# settings would be that worker's, not the coordinator's that runs the report.
_LIMITS = (
    "SELECT set_config('statement_timeout', $1, true), "
    # Grouping raw clicks by day otherwise spills to disk at the default 4MB.
    f"set_config('work_mem', '{REPORT_WORK_MEM}', true), "
    # After five runs of a prepared report PostgreSQL may switch to a generic plan, blind to
    # the date range: the 90-day raw report went from 1.8 s to 4.3 s. Planning a report costs
    # a millisecond.
    "set_config('plan_cache_mode', 'force_custom_plan', true), "
    # Raw reports cost far above jit_above_cost: compiling their expressions took 190 ms of
    # the 90-day raw report and made nothing faster.
    "set_config('jit', 'off', true)"
)
# What plans a report: the workspace's time zone and its conversion types, $1 the workspace.
_PLANNING = (
    "SELECT w.timezone, t.ids, t.names, t.conversions, t.revenues "
    "FROM workspaces w CROSS JOIN LATERAL ("
    "SELECT array_agg(id ORDER BY id) AS ids, array_agg(name ORDER BY id) AS names, "
    "array_agg(counts_as_conversion ORDER BY id) AS conversions, "
    "array_agg(counts_in_revenue ORDER BY id) AS revenues "
    "FROM conversion_types WHERE workspace_id = $1) AS t "
    "WHERE w.id = $1"
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A report's connection, in a repeatable-read transaction: the types it plans with are
    those its figures count (a type created in between would have events but no columns)."""

    conn: asyncpg.Connection
    # The workspace's.
    timezone: str
    types: tuple[EventType, ...]

    async def rows(self, plan: ReportPlan, rollup: Rollup | None, dialect: Dialect) -> ReportRows:
        # Straight through asyncpg: SQLAlchemy's result rows cost ~2 us each, and a report of
        # a thousand rows is common.
        types = self.types if plan.needs_events else ()
        sql, parameters = statement(plan, rollup, types, dialect=dialect)
        totals, *rows = await self.conn.fetch(sql, *parameters)
        return ReportRows(rows=rows, totals=totals, types=types)


@asynccontextmanager
async def snapshot(
    engine: AsyncEngine, workspace_id: int, *, timeout_ms: int
) -> AsyncIterator[Snapshot]:
    """The workspace's report snapshot, its limits set first (a report over years of raw clicks
    must not hold a connection for minutes), then what plans it read."""
    async with driver_connection(engine) as conn, conn.transaction(isolation="repeatable_read"):
        await conn.execute(_LIMITS, str(timeout_ms))
        row = await conn.fetchrow(_PLANNING, workspace_id)
        if row is None:
            # Deleted since its key was read (the key went with it: ON DELETE CASCADE).
            raise QueryInputError("the API key's workspace no longer exists")
        timezone, *columns = row
        # No type yet: array_agg of no rows is null.
        found = zip(*(column or () for column in columns), strict=True)
        types = tuple(EventType(*fields) for fields in found)
        yield Snapshot(conn, timezone, types)


async def count_clicks(
    engine: AsyncEngine, *, workspace_id: int, filter_: ClickFilter | None
) -> int:
    """Clicks matching the filter, counted in the raw table (no rollup holds the filter)."""
    condition = click_condition(CLICKS, filter_, workspace_id=workspace_id)
    return await fetch_count(engine, select(func.count()).select_from(CLICKS).where(condition))


class _Parameters:
    """The positional parameters ($1, $2, ...) of a statement, in order."""

    def __init__(self, values: Sequence[object] = ()) -> None:
        self.values = list(values)

    def __call__(self, value: object, cast: str) -> str:
        self.values.append(value)
        return f"${len(self.values)}::{cast}"


def statement(
    plan: ReportPlan, rollup: Rollup | None, types: Sequence[EventType], *, dialect: Dialect
) -> tuple[str, list[object]]:
    """The SQL and its parameters; it returns the totals first, then the page of groups."""
    types = types if plan.needs_events else ()
    ctes: dict[str, str] = {}
    if rollup is None:
        p = _matched_clicks(plan, ctes, dialect)
        parts = _raw_parts(plan, p)
    else:
        p = _Parameters()
        parts = _rollup_parts(plan, rollup, p)
    dimensions = list(plan.columns)
    keys = [*dimensions, *(["bucket"] if plan.bucket is not None else [])]
    click_sums = list(CLICK_SUMS if plan.needs_clicks else ())
    forward_sums = list(FORWARD_SUMS if plan.needs_forwards else ())
    type_sums = [c for t in types for c in (t.count_column, t.amount_column)]
    sums = [f"sum({s}){_cast(s)} AS {s}" for s in [*click_sums, *forward_sums]]
    for t in types:
        of_type = f"FILTER (WHERE type_id = {p(t.id, 'bigint')})"
        sums.append(f"sum(events) {of_type}::bigint AS {t.count_column}")
        sums.append(f"sum(amount) {of_type} AS {t.amount_column}")
    ctes["grouped"] = (
        f"SELECT {_list([*keys, *sums])}\n"
        f"FROM (\n{' UNION ALL '.join(parts)}\n) AS parts"
        + (f"\nGROUP BY {_list(keys)}" if keys else "")
    )
    ctes["filled"] = _with_empty_buckets(
        plan, p, dimensions, [*click_sums, *forward_sums], type_sums
    )
    derived = _event_sums(types) if plan.needs_events else []
    ctes["rows"] = f"SELECT {_list(['filled.*', *derived])} FROM filled"
    columns = [
        *keys,
        *click_sums,
        *forward_sums,
        *(EVENT_SUMS if plan.needs_events else ()),
        *(type_sums if "by_type" in plan.sums else ()),
    ]
    having = [
        f"{_METRICS[h.metric.value]} {h.comparison.value} {p(h.value, 'float8')}"
        for h in plan.having
    ]
    ctes["kept"] = f"SELECT {_list(columns)} FROM rows" + (
        f" WHERE {' AND '.join(having)}" if having else ""
    )
    money = {*MONEY_SUMS, *(t.amount_column for t in types)}
    sums_out = columns[len(keys) :]
    totals = [*(f"NULL AS {k}" for k in keys), *(f"sum({c}){_cast(c, money)}" for c in sums_out)]
    # Ordering by a money metric is an expression, so it reads the numeric column of page.
    out = [*keys, *(f"{c}::text AS {c}" if c in money else c for c in sums_out)]
    with_clause = ",\n".join(f"{name} AS (\n{body}\n)" for name, body in ctes.items())
    sql = (
        f"WITH {with_clause}\n"
        f"SELECT total, {_list(out)}, total_rows FROM (\n"
        f"SELECT false AS total, {_list(columns)}, NULL::bigint AS total_rows FROM kept\n"
        f"UNION ALL\n"
        f"SELECT true, {_list(totals)}, count(*) FROM kept\n"
        f") AS page\n"
        f"ORDER BY total DESC, {_list(_order(plan, keys))}\n"
        f"LIMIT {p(plan.first + 1, 'integer')}"
    )
    return sql, p.values


def _list(items: Sequence[str]) -> str:
    return ", ".join(items)


def _cast(column: str, money: frozenset[str] | set[str] = MONEY_SUMS) -> str:
    """Counts are summed into bigint; money stays numeric."""
    return "" if column in money else "::bigint"


def _event_sums(types: Sequence[EventType]) -> list[str]:
    """Conversions, transactions and revenue (in millionths) from the per-type sums."""

    def total(columns: list[str]) -> str:
        return " + ".join(f"coalesce({c}, 0)" for c in columns) or "0"

    conversions = total([t.count_column for t in types if t.counts_as_conversion])
    transactions = total([t.count_column for t in types if t.name == TRANSACTION_TYPE])
    revenue = total([t.amount_column for t in types if t.counts_in_revenue])
    return [
        f"({conversions})::bigint AS conversions",
        f"({transactions})::bigint AS transactions",
        f"({revenue}) AS revenue",
    ]


def _part(keys: Sequence[str], sums: Sequence[str], source: str, where: Sequence[str]) -> str:
    return f"SELECT {_list([*keys, *sums])}\nFROM {source}\nWHERE {' AND '.join(where)}"


# What a part holds of the sums it does not have. Event parts carry the events' own cost
# (CPA, RevShare) in the clicks' cost column.
_NO_CLICK_COUNTS = [f"NULL::bigint AS {s}" for s in CLICK_SUMS if s != "cost"]
_NO_EVENTS = ["NULL::bigint AS type_id", "NULL::bigint AS events", "NULL::numeric AS amount"]
_NO_FORWARDS = [f"NULL::bigint AS {s}" for s in FORWARD_SUMS]


def _bucket(plan: ReportPlan, p: _Parameters, moment: str, *, grain: str | None = None) -> str:
    """The start of ``moment``'s bucket. A rollup's own time column where the grains match: a
    daily rollup answers only reports in its zone (plan.rollup_for), an hourly one only
    reports in zones whose offsets are whole hours."""
    assert plan.bucket is not None
    if plan.bucket.value == grain:
        return f"{moment} AS bucket"
    return (
        f"date_trunc({p(plan.bucket.value, 'text')}, {moment}, {p(plan.timezone, 'text')})"
        " AS bucket"
    )


def _range(plan: ReportPlan, p: _Parameters, moment: str) -> list[str]:
    f = plan.filter
    parts = []
    if f is not None and f.created_from is not None:
        parts.append(f"{moment} >= {p(f.created_from, 'timestamptz')}")
    if f is not None and f.created_before is not None:
        parts.append(f"{moment} < {p(f.created_before, 'timestamptz')}")
    return parts


def _rollup_parts(plan: ReportPlan, rollup: Rollup, p: _Parameters) -> list[str]:
    """The rollup's rows, and the pending signatures (models.rollups) cut into its buckets."""
    workspace = f"workspace_id = {p(plan.workspace_id, 'bigint')}"
    f = plan.filter
    narrowed = []
    if f is not None:
        # rollup_for() lets through only the filter fields a rollup holds.
        for ids, column in (
            (f.campaign_ids, "campaign_id"),
            (f.offer_ids, "offer_id"),
            (f.traffic_source_ids, "traffic_source_id"),
        ):
            if ids is not None:
                narrowed.append(f"{column} = ANY({p([int(i) for i in ids], 'bigint[]')})")
        for texts, column in ((f.countries, "country"), (f.device_types, "device_type")):
            if texts is not None:
                narrowed.append(f"{column} = ANY({p(list(texts), 'text[]')})")
        # Column names from the enum, never from the request; as click_filter.missing_condition.
        for dimension in f.missing or []:
            column = dimension.value
            empty = "" if column in _ID_DIMENSIONS else f" OR {column} = ''"
            narrowed.append(f"({column} IS NULL{empty})")

    def keys(time: str, grain: str | None) -> list[str]:
        bucket = [_bucket(plan, p, time, grain=grain)] if plan.bucket is not None else []
        return [*plan.columns, *bucket]

    time = rollup.time_column
    folded = [workspace, *_range(plan, p, time), *narrowed]
    if rollup.grain == "day":
        folded.append(f"timezone = {p(plan.timezone, 'text')}")
    parts = []
    if plan.needs_clicks:
        sums = [*(f"{s} AS {s}" for s in CLICK_SUMS[:-1]), "cost_micros AS cost", *_NO_EVENTS]
        parts.append(_part(keys(time, rollup.grain), sums, rollup.clicks_table, folded))
        pending = [workspace, *_range(plan, p, "slot"), *narrowed]
        parts.append(_part(keys("slot", None), sums, CLICKS_PENDING, pending))
    if plan.needs_events:
        statuses = f"status = ANY({p([s.value for s in plan.statuses], 'text[]')})"
        sums = [
            *_NO_CLICK_COUNTS,
            "cost_micros AS cost",
            "type_id",
            "events",
            "amount_micros AS amount",
        ]
        attribution = f"attribution = {p(plan.attribution.value, 'text')}"
        parts.append(
            _part(
                keys(time, rollup.grain),
                sums,
                rollup.events_table,
                [*folded, attribution, statuses],
            )
        )
        # A signature holds both times of its events: the attribution picks one.
        slot = "click_slot" if plan.attribution is ReportAttribution.CLICK_TIME else "event_slot"
        pending = [workspace, *_range(plan, p, slot), *narrowed, statuses]
        parts.append(_part(keys(slot, None), sums, EVENTS_PENDING, pending))
    return parts


def _matched_clicks(plan: ReportPlan, ctes: dict[str, str], dialect: Dialect) -> _Parameters:
    """The clicks the filter matches, in the date range (``matched``) and, for events counted
    at their own time, at any time (``matched_any_time``); returns the parameters so far."""
    any_time = plan.filter
    if any_time is not None:
        any_time = dataclasses.replace(any_time, created_from=None, created_before=None)
    names = ("created_at", "id", "is_unique", "is_bot", "cost", *plan.columns)
    compiled = (
        select(*(CLICKS.c[name] for name in dict.fromkeys(names)))
        .where(click_condition(CLICKS, any_time, workspace_id=plan.workspace_id))
        .compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    )
    p = _Parameters([compiled.params[name] for name in compiled.positiontup or ()])
    by_conversion_time = plan.attribution is ReportAttribution.CONVERSION_TIME
    of_clicks = plan.needs_events or plan.needs_forwards
    if plan.needs_clicks or (of_clicks and not by_conversion_time):
        # The date range apart from the filter, which also finds the clicks of events counted
        # at their own time. PostgreSQL pulls the subquery up: the range still picks the
        # partitions.
        in_range = _range(plan, p, "c.created_at")
        # The bucket is cut here, in the parallel scan, rather than in the leader from the
        # materialized rows (date_trunc in a zone costs 0.5 us a click).
        bucket = [_bucket(plan, p, "c.created_at")] if plan.bucket is not None else []
        ctes["matched"] = f"SELECT {_list(['c.*', *bucket])} FROM (\n{compiled}\n) AS c" + (
            f"\nWHERE {' AND '.join(in_range)}" if in_range else ""
        )
    if of_clicks and by_conversion_time:
        ctes["matched_any_time"] = str(compiled)
    return p


def _raw_parts(plan: ReportPlan, p: _Parameters) -> list[str]:
    """Sums of the matched clicks, and of their events by type, per group."""
    parts = []
    keys = [*plan.columns, *(["bucket"] if plan.bucket is not None else [])]
    no_forwards = _NO_FORWARDS if plan.needs_forwards else []
    if plan.needs_clicks:
        sums = [
            "count(*) AS clicks",
            "count(*) FILTER (WHERE is_unique) AS unique_clicks",
            "count(*) FILTER (WHERE is_bot) AS bot_clicks",
            f"round(sum(cost) * {MICROS}) AS cost",
            *_NO_EVENTS,
            *no_forwards,
        ]
        parts.append(
            f"SELECT {_list([*keys, *sums])}\nFROM matched"
            + (f"\nGROUP BY {_list(keys)}" if keys else "")
        )
    if plan.needs_events:
        by_conversion_time = plan.attribution is ReportAttribution.CONVERSION_TIME
        keys = [f"m.{d}" for d in plan.columns]
        if plan.bucket is not None:
            keys.append(_bucket(plan, p, "e.created_at") if by_conversion_time else "m.bucket")
        sums = [
            *_NO_CLICK_COUNTS,
            f"round(sum(e.cost) * {MICROS}) AS cost",
            "e.type_id",
            "count(*) AS events",
            f"round(sum(e.amount) * {MICROS}) AS amount",
            *no_forwards,
        ]
        where = [
            f"e.workspace_id = {p(plan.workspace_id, 'bigint')}",
            f"e.status = ANY({p([s.value for s in plan.statuses], 'text[]')})",
            *_range(plan, p, "e.created_at" if by_conversion_time else "e.click_created_at"),
        ]
        group = [
            *(f"m.{d}" for d in plan.columns),
            *(["bucket"] if plan.bucket else []),
            "e.type_id",
        ]
        # matched holds one workspace's clicks: joining on workspace_id as well would make the
        # planner guess it keeps 0.5% of them, and pick a nested loop over every click.
        matched = "matched_any_time" if by_conversion_time else "matched"
        parts.append(
            _part(
                keys,
                sums,
                f"conversion_events AS e JOIN {matched} AS m\n"
                "    ON m.created_at = e.click_created_at AND m.id = e.click_id",
                where,
            )
            + f"\nGROUP BY {_list(group)}"
        )
    if plan.needs_forwards:
        parts.append(_forward_part(plan, p))
    return parts


def _forward_part(plan: ReportPlan, p: _Parameters) -> str:
    """Delivered and dead forwards of the matched clicks' events, per group, at the click's
    time or (attributed by conversion time) at the time the forward was queued."""
    by_conversion_time = plan.attribution is ReportAttribution.CONVERSION_TIME
    keys = [f"m.{d}" for d in plan.columns]
    if plan.bucket is not None:
        keys.append(_bucket(plan, p, "f.created_at") if by_conversion_time else "m.bucket")
    sums = [
        *_NO_CLICK_COUNTS,
        "NULL::numeric AS cost",
        *_NO_EVENTS,
        "count(*) FILTER (WHERE f.state = 'delivered') AS forwarded",
        "count(*) FILTER (WHERE f.state = 'dead') AS forward_failed",
    ]
    where = [
        f"f.workspace_id = {p(plan.workspace_id, 'bigint')}",
        *_range(plan, p, "f.created_at" if by_conversion_time else "f.click_created_at"),
    ]
    group = [*(f"m.{d}" for d in plan.columns), *(["bucket"] if plan.bucket else [])]
    matched = "matched_any_time" if by_conversion_time else "matched"
    return _part(
        keys,
        sums,
        f"forwards AS f JOIN {matched} AS m\n"
        "    ON m.created_at = f.click_created_at AND m.id = f.click_id",
        where,
    ) + (f"\nGROUP BY {_list(group)}" if group else "")


def _with_empty_buckets(
    plan: ReportPlan,
    p: _Parameters,
    dimensions: Sequence[str],
    click_sums: Sequence[str],
    type_sums: Sequence[str],
) -> str:
    """The groups, and zeros for every bucket of the date range each dimension lacks."""
    sums = [*(f"coalesce(g.{s}, 0) AS {s}" for s in click_sums), *(f"g.{s}" for s in type_sums)]
    buckets = plan.buckets()
    if buckets is None:
        keys = [*dimensions, *(["bucket"] if plan.bucket is not None else [])]
        return f"SELECT {_list([*(f'g.{k}' for k in keys), *sums])} FROM grouped AS g"
    frame = f"unnest({p(buckets, 'timestamptz[]')}) AS series (bucket)"
    on = ["g.bucket = series.bucket"]
    if dimensions:
        frame += f"\nCROSS JOIN (SELECT DISTINCT {_list(dimensions)} FROM grouped) AS seen"
        for d in dimensions:
            if not CLICKS.c[d].nullable:
                # A plain equality lets the planner see how many groups match: it hashes the
                # join then, where it sorted both sides (the 30-day report by campaign: 7.5 ->
                # 6.7 ms of PostgreSQL's CPU).
                on.append(f"g.{d} = seen.{d}")
                continue
            # NULL is a group of its own; spelt out as equalities so that the join can hash.
            empty = "0" if d in _ID_DIMENSIONS else "''"
            on.append(f"coalesce(g.{d}, {empty}) = coalesce(seen.{d}, {empty})")
            on.append(f"(g.{d} IS NULL) = (seen.{d} IS NULL)")
    keys = [*(f"seen.{d}" for d in dimensions), "series.bucket"]
    return (
        f"SELECT {_list([*keys, *sums])}\nFROM {frame}\n"
        f"LEFT JOIN grouped AS g ON {' AND '.join(on)}"
    )


def _order(plan: ReportPlan, keys: Sequence[str]) -> list[str]:
    order = []
    for o in plan.order:
        if o.metric is not None:
            column = _METRICS[o.metric.value]
        elif o.dimension is not None:
            column = o.dimension.value
        else:
            column = "bucket"
        ascending = o.direction is SortDirection.ASC
        order.append(f"{column} ASC NULLS FIRST" if ascending else f"{column} DESC NULLS LAST")
    if not plan.order:
        if plan.bucket is not None:
            order.append("bucket ASC")
        order.append("clicks DESC" if plan.needs_clicks else "conversions DESC")
    # Ties broken by the keys: pages and dashboards see one stable order.
    order += [f"{k} ASC NULLS FIRST" for k in keys]
    return order
