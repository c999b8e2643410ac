"""Reports: a report's arguments checked and planned, then run; and the click count.

Every read takes its own pooled connection from the engine: report fields, `totalCount` and
other root fields of one request run concurrently, which the request's session cannot.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from api.click_filter import ClickFilter, check_click_filter
from api.dimensions import ReportDimension
from api.enums import ConversionStatus
from api.errors import QueryInputError
from api.reports import repository
from api.reports.plan import ReportPlan, base_sums, rollup_for
from api.reports.repository import ReportRows
from api.reports.types import (
    ReportAttribution,
    ReportCondition,
    ReportOrder,
    TimeBucket,
)
from api.values import time_zones
from models.metrics import REPORT_SECONDS
from models.rollups import Rollup

DEFAULT_ROWS = 1_000
MAX_ROWS = 10_000
MAX_SORT_KEYS = 10
MAX_CONDITIONS = 20
# Counted in conversions, transactions and revenue unless the report says otherwise.
DEFAULT_STATUSES = (ConversionStatus.APPROVED, ConversionStatus.PENDING)


@dataclass(frozen=True, slots=True)
class ReportResult:
    plan: ReportPlan
    rows: ReportRows
    rollup: Rollup | None

    @property
    def source(self) -> str:
        return _source(self.rollup)


def _source(rollup: Rollup | None) -> str:
    """What a report read: the raw tables or one rollup (also its metrics label)."""
    return "raw" if rollup is None else f"rollup_{rollup.name}"


async def report(
    engine: AsyncEngine,
    *,
    workspace_id: int,
    timeout_ms: int,
    filter_: ClickFilter | None,
    group_by: Sequence[ReportDimension],
    time_bucket: TimeBucket | None,
    timezone: str | None,
    attribution: ReportAttribution,
    statuses: Sequence[ConversionStatus] | None,
    order_by: Sequence[ReportOrder],
    having: Sequence[ReportCondition],
    first: int | None,
    metrics: set[str],
) -> ReportResult:
    """The report's rows and totals; ``metrics`` are the snake-case metrics selected."""
    # The plan computes with the filter's times: check it before.
    check_click_filter(filter_)
    rows_wanted = DEFAULT_ROWS if first is None else first
    if not 1 <= rows_wanted <= MAX_ROWS:
        raise QueryInputError(f"first must be between 1 and {MAX_ROWS}, got {first}")
    dimensions = tuple(dict.fromkeys(group_by))
    order = tuple(order_by)
    if len(order) > MAX_SORT_KEYS:
        raise QueryInputError(f"orderBy takes at most {MAX_SORT_KEYS} keys")
    if len(having) > MAX_CONDITIONS:
        raise QueryInputError(f"having takes at most {MAX_CONDITIONS} conditions")
    _check_order(order, dimensions, time_bucket)
    asked_timezone = _timezone(timezone)
    started = time.perf_counter()
    async with repository.snapshot(engine, workspace_id, timeout_ms=timeout_ms) as snapshot:
        plan = ReportPlan(
            workspace_id=workspace_id,
            filter=filter_,
            dimensions=dimensions,
            bucket=time_bucket,
            timezone=asked_timezone or snapshot.timezone,
            workspace_timezone=snapshot.timezone,
            attribution=attribution,
            statuses=DEFAULT_STATUSES if statuses is None else tuple(statuses),
            order=order,
            having=tuple(having),
            first=rows_wanted,
            sums=base_sums(metrics, order, tuple(having)),
        )
        rollup = rollup_for(plan)
        rows = await _rows(snapshot, plan, rollup, engine.dialect, timeout_ms, "the report")
    result = ReportResult(plan, rows, rollup)
    REPORT_SECONDS.labels(result.source).observe(time.perf_counter() - started)
    return result


async def count_clicks(
    engine: AsyncEngine, *, workspace_id: int, filter_: ClickFilter | None, timeout_ms: int
) -> int:
    """How many clicks match: summed from a rollup when one holds the filter, else counted."""
    started = time.perf_counter()
    async with repository.snapshot(engine, workspace_id, timeout_ms=timeout_ms) as snapshot:
        plan = ReportPlan(
            workspace_id=workspace_id,
            filter=filter_,
            dimensions=(),
            bucket=None,
            timezone=snapshot.timezone,
            workspace_timezone=snapshot.timezone,
            attribution=ReportAttribution.CLICK_TIME,
            statuses=(),
            order=(),
            having=(),
            first=1,
            sums=frozenset({"clicks"}),
        )
        rollup = rollup_for(plan)
        summed = (
            None
            if rollup is None
            else await _rows(snapshot, plan, rollup, engine.dialect, timeout_ms, "totalCount")
        )
    if summed is None:
        count = await repository.count_clicks(engine, workspace_id=workspace_id, filter_=filter_)
    else:
        count = int(summed.totals["clicks"] or 0)
    REPORT_SECONDS.labels(_source(rollup)).observe(time.perf_counter() - started)
    return count


def _check_order(
    order: tuple[ReportOrder, ...],
    dimensions: tuple[ReportDimension, ...],
    time_bucket: TimeBucket | None,
) -> None:
    for o in order:
        if (o.metric is not None) + (o.dimension is not None) + o.bucket != 1:
            raise QueryInputError(
                "each orderBy entry sets exactly one of metric, dimension, bucket"
            )
        if o.dimension is not None and o.dimension not in dimensions:
            raise QueryInputError(f"orderBy {o.dimension.name}: the report is not grouped by it")
        if o.bucket and time_bucket is None:
            raise QueryInputError("orderBy bucket needs a timeBucket")


async def _rows(
    snapshot: repository.Snapshot,
    plan: ReportPlan,
    rollup: Rollup | None,
    dialect: Dialect,
    timeout_ms: int,
    what: str,
) -> ReportRows:
    """The report's rows; a statement cut off by the report timeout is the client's to narrow,
    not an unexpected (masked) error."""
    try:
        return await snapshot.rows(plan, rollup, dialect)
    except asyncpg.QueryCanceledError:
        raise QueryInputError(
            f"{what} took longer than {timeout_ms} ms; narrow the date range or the filter"
        ) from None


def _timezone(asked: str | None) -> str | None:
    if asked is None:
        return None
    # The names a workspace may have; ZoneInfo would also read any file name under tzdata.
    if asked not in time_zones():
        raise QueryInputError(
            f"timezone {asked[:60]!r} is not an IANA time zone such as Europe/Berlin"
        )
    return asked
