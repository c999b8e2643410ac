"""Time to conversion: the arguments checked, the histogram read and shaped."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from api.click_filter import ClickFilter, check_click_filter
from api.delays import repository
from api.delays.repository import DelayQuery
from api.dimensions import ReportDimension
from api.enums import ConversionStatus
from api.errors import QueryInputError, cancelled_by_timeout
from api.values import bounded

MINUTE, HOUR, DAY, WEEK = 60, 3_600, 86_400, 604_800
# Lower bounds, in seconds: click injection shows in the first seconds, click spamming as a
# flat spread over days, honest traffic as a hump in minutes to hours.
EDGES = (
    0,
    5,
    10,
    30,
    MINUTE,
    5 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    3 * DAY,
    WEEK,
    2 * WEEK,
)
DEFAULT_THRESHOLD_SECONDS = 10
MAX_THRESHOLD_SECONDS = 90 * DAY
DEFAULT_FLAG_SHARE = 0.2
DEFAULT_ROWS = 100
MAX_ROWS = 1_000
DEFAULT_STATUSES = (ConversionStatus.APPROVED, ConversionStatus.PENDING)


@dataclass(frozen=True, slots=True)
class Bucket:
    from_seconds: int
    to_seconds: int | None
    label: str


@dataclass(frozen=True, slots=True)
class DelayFigures:
    total: bool
    key: str | None
    type: str
    events: int
    counts: list[int]
    under_threshold: int
    median_seconds: float


@dataclass(frozen=True, slots=True)
class Histogram:
    buckets: list[Bucket]
    rows: list[DelayFigures]
    totals: list[DelayFigures]
    total_rows: int


def _span(seconds: int) -> str:
    for size, unit in ((WEEK, "w"), (DAY, "d"), (HOUR, "h"), (MINUTE, "m")):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _label(low: int, high: int | None) -> str:
    if high is None:
        return f">{_span(low)}"
    if low == 0:
        return f"<{_span(high)}"
    low_text, high_text = _span(low), _span(high)
    # "1-5m" rather than "1m-5m" when both bounds are in the same unit.
    if low_text[-1] == high_text[-1]:
        low_text = low_text[:-1]
    return f"{low_text}-{high_text}"


BUCKETS = [
    Bucket(low, high, _label(low, high))
    for low, high in zip(EDGES, (*EDGES[1:], None), strict=True)
]


async def conversion_delay(
    engine: AsyncEngine,
    *,
    workspace_id: int,
    timeout_ms: int,
    filter_: ClickFilter | None,
    group_by: ReportDimension | None,
    types: Sequence[str] | None,
    statuses: Sequence[ConversionStatus] | None,
    threshold_seconds: int,
    flag_share: float,
    first: int,
) -> Histogram:
    check_click_filter(filter_)
    if not 0 <= threshold_seconds <= MAX_THRESHOLD_SECONDS:
        raise QueryInputError(
            f"thresholdSeconds must be between 0 and {MAX_THRESHOLD_SECONDS} (90 days), "
            f"got {threshold_seconds}"
        )
    # NaN compares false both ways: refused too.
    if not 0 <= flag_share <= 1:
        raise QueryInputError(f"flagShare must be between 0 and 1, got {flag_share}")
    if not 1 <= first <= MAX_ROWS:
        raise QueryInputError(f"first must be between 1 and {MAX_ROWS}, got {first}")
    if types is not None:
        types = bounded(list(types), "types")
        if any("\x00" in name for name in types):
            raise QueryInputError("types: a type name holds no NUL character")
    query = DelayQuery(
        workspace_id=workspace_id,
        filter=filter_,
        dimension=group_by,
        types=None if types is None else tuple(types),
        statuses=tuple(s.value for s in (DEFAULT_STATUSES if statuses is None else statuses)),
        threshold_seconds=threshold_seconds,
        edges=EDGES,
        first=first,
    )
    try:
        result = await repository.delays(engine, query, timeout_ms=timeout_ms)
    except DBAPIError as error:
        if cancelled_by_timeout(error):
            raise QueryInputError(
                f"conversionDelay took longer than {timeout_ms} ms; narrow the date range or "
                "the filter"
            ) from None
        raise
    figures = [
        DelayFigures(
            total=row.total,
            key=row.key,
            type=row.type,
            events=row.events,
            counts=list(row.counts),
            under_threshold=row.under_threshold,
            median_seconds=row.median_seconds,
        )
        for row in result
    ]
    return Histogram(
        buckets=BUCKETS,
        rows=[f for f in figures if not f.total],
        totals=[f for f in figures if f.total],
        total_rows=int(result[0].total_rows) if result else 0,
    )
