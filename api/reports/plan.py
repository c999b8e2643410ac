"""What a report asks for, and which rollup (daily or hourly) can answer it."""

from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from api.click_filter import ClickFilter
from api.dimensions import ReportDimension
from api.enums import ConversionStatus
from api.errors import QueryInputError
from api.reports.types import (
    ReportAttribution,
    ReportCondition,
    ReportOrder,
    TimeBucket,
)
from models.rollups import ROLLUPS, Rollup

MAX_BUCKETS = 10_000

# Filter fields the rollups hold, by the column each one narrows.
_ROLLUP_FILTERS = {
    "campaign_ids": "campaign_id",
    "offer_ids": "offer_id",
    "traffic_source_ids": "traffic_source_id",
    "countries": "country",
    "device_types": "device_type",
}
_TIME_FILTERS = {"created_from", "created_before"}

CLICK_METRICS = {"clicks", "unique_clicks", "bot_clicks", "cost"}
EVENT_METRICS = {"conversions", "transactions", "revenue", "by_type"}
# Counted from the forwards of the clicks' events; no rollup holds them.
FORWARD_METRICS = {"forwarded", "forward_failed"}
# Cost is the clicks' (CPC, CPM) plus their events' (CPA, RevShare).
_EVENT_COST = {"cost"}
# Derived metrics and the sums they are computed from.
DERIVED = {
    "profit": {"revenue", "cost"},
    "roi": {"revenue", "cost"},
    "cr": {"conversions", "clicks"},
    "epc": {"revenue", "clicks"},
    "cpa": {"cost", "conversions"},
}


@dataclass(frozen=True)
class ReportPlan:
    workspace_id: int
    filter: ClickFilter | None
    dimensions: tuple[ReportDimension, ...]
    bucket: TimeBucket | None
    timezone: str
    # Daily rollups count days in the workspace's zone: they answer reports in that zone only.
    workspace_timezone: str
    attribution: ReportAttribution
    statuses: tuple[ConversionStatus, ...]
    order: tuple[ReportOrder, ...]
    having: tuple[ReportCondition, ...]
    first: int
    # Base sums the query needs: selected, or used by derived metrics, order or having.
    sums: frozenset[str]

    @property
    def needs_clicks(self) -> bool:
        # With no metric selected, the clicks still say which groups exist.
        return bool(self.sums & CLICK_METRICS) or not self.sums & (EVENT_METRICS | FORWARD_METRICS)

    @property
    def needs_events(self) -> bool:
        return bool(self.sums & (EVENT_METRICS | _EVENT_COST))

    @property
    def needs_forwards(self) -> bool:
        return bool(self.sums & FORWARD_METRICS)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dimension.value for dimension in self.dimensions)

    def buckets(self) -> list[datetime] | None:
        """Every bucket start of the date range, so empty buckets come back as zeros."""
        f = self.filter
        if self.bucket is None or f is None or f.created_from is None or not f.created_before:
            return None
        zone = ZoneInfo(self.timezone)
        starts: list[datetime] = []
        start = _truncate(f.created_from, self.bucket, zone)
        while start < f.created_before:
            starts.append(start)
            if len(starts) > MAX_BUCKETS:
                raise QueryInputError(
                    f"the date range has more than {MAX_BUCKETS} {self.bucket.value} buckets; "
                    "choose a longer timeBucket or a shorter range"
                )
            start = _next(start, self.bucket, zone)
        return starts


def base_sums(
    selected: set[str], order: tuple[ReportOrder, ...], having: tuple[ReportCondition, ...]
) -> frozenset[str]:
    wanted = set(selected)
    wanted |= {o.metric.value for o in order if o.metric is not None}
    wanted |= {condition.metric.value for condition in having}
    sums = wanted & (CLICK_METRICS | EVENT_METRICS | FORWARD_METRICS)
    for metric, needs in DERIVED.items():
        if metric in wanted:
            sums |= needs
    return frozenset(sums)


def rollup_for(plan: ReportPlan) -> Rollup | None:
    """The first rollup that holds every dimension the report groups and filters by, at a
    grain that fits its time zone, buckets and date range; None: read the raw tables."""
    if plan.needs_forwards:
        return None
    f = plan.filter
    needed = set(plan.columns)
    bounds: list[datetime] = []
    if f is not None:
        for field in fields(f):
            value = getattr(f, field.name)
            if value is None or field.name in _TIME_FILTERS:
                continue
            if field.name == "missing":
                needed.update(dimension.value for dimension in value)
                continue
            if field.name not in _ROLLUP_FILTERS:
                return None
            needed.add(_ROLLUP_FILTERS[field.name])
        bounds = [b for b in (f.created_from, f.created_before) if b is not None]
    grains = {grain for grain in ("day", "hour") if _fits(plan, grain, bounds)}
    return next((r for r in ROLLUPS if r.grain in grains and needed <= set(r.dimensions)), None)


def _fits(plan: ReportPlan, grain: str, bounds: list[datetime]) -> bool:
    if grain == "day":
        zone = ZoneInfo(plan.timezone)
        return (
            plan.timezone == plan.workspace_timezone
            and plan.bucket is not TimeBucket.HOUR
            and all(_truncate(b, TimeBucket.DAY, zone) == b for b in bounds)
        )
    return all(_whole_hour(b) for b in bounds) and (
        plan.bucket is None or _whole_hour_offsets(plan.timezone)
    )


def _whole_hour(moment: datetime) -> bool:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0) == moment


@lru_cache
def _whole_hour_offsets(timezone: str) -> bool:
    """Hourly rollups fit this zone's buckets only if its UTC offsets are whole hours."""
    zone = ZoneInfo(timezone)
    for year in range(1990, 2041):
        for month in (1, 4, 7, 10):
            offset = datetime(year, month, 1, tzinfo=zone).utcoffset()
            if offset is None or offset % timedelta(hours=1):
                return False
    return True


def _truncate(moment: datetime, bucket: TimeBucket, zone: ZoneInfo) -> datetime:
    """PostgreSQL's date_trunc(bucket, moment, zone), in Python."""
    local = moment.astimezone(zone)
    if bucket is TimeBucket.HOUR:
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.date()
    if bucket is TimeBucket.WEEK:
        day -= timedelta(days=day.weekday())
    elif bucket is TimeBucket.MONTH:
        day = day.replace(day=1)
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def _next(start: datetime, bucket: TimeBucket, zone: ZoneInfo) -> datetime:
    if bucket is TimeBucket.HOUR:
        return (start.astimezone(UTC) + timedelta(hours=1)).astimezone(zone)
    day = start.date()
    if bucket is TimeBucket.DAY:
        day += timedelta(days=1)
    elif bucket is TimeBucket.WEEK:
        day += timedelta(days=7)
    else:
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime(day.year, day.month, day.day, tzinfo=zone)
