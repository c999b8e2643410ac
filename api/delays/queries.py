"""The `conversionDelay` root field: time to conversion, per group and event type."""

from typing import Annotated

import strawberry

from api.catalog.references import load_references
from api.click_filter import ClickFilter
from api.context import Context
from api.delays import service
from api.delays.service import (
    DEFAULT_FLAG_SHARE,
    DEFAULT_ROWS,
    DEFAULT_THRESHOLD_SECONDS,
    MAX_ROWS,
    DelayFigures,
)
from api.delays.types import ConversionDelay, DelayBucket, DelayRow
from api.dimensions import ReportDimension
from api.enums import ConversionStatus
from api.permissions import CanRead
from api.selection import selection

_IDS = {
    ReportDimension.CAMPAIGN: "campaign_id",
    ReportDimension.OFFER: "offer_id",
    ReportDimension.TRAFFIC_SOURCE: "traffic_source_id",
}


@strawberry.type
class DelayQueries:
    @strawberry.field(
        permission_classes=[CanRead],
        description="Time to conversion: how many seconds after their click events were "
        "recorded, as a histogram from seconds to weeks per event type and group, with the "
        "share of events under a threshold flagged (click injection and click spamming show "
        "as events too soon after the click). Read from the raw tables.",
    )
    async def conversion_delay(
        self,
        info: strawberry.Info[Context],
        filter: Annotated[
            ClickFilter | None,
            strawberry.argument(
                description="Which clicks' events; createdFrom/createdBefore is the clicks' "
                "date range."
            ),
        ] = None,
        group_by: Annotated[
            ReportDimension | None,
            strawberry.argument(
                description="One histogram per value of this dimension (traffic source, "
                "campaign, a sub...); one per type over all clicks when null."
            ),
        ] = None,
        types: Annotated[
            list[str] | None,
            strawberry.argument(description="Event types to include; every type when null."),
        ] = None,
        statuses: Annotated[
            list[ConversionStatus] | None,
            strawberry.argument(
                description="Event statuses to include; approved and pending when null."
            ),
        ] = None,
        threshold_seconds: Annotated[
            int,
            strawberry.argument(
                description="Events sooner than this after the click count in `underThreshold`."
            ),
        ] = DEFAULT_THRESHOLD_SECONDS,
        flag_share: Annotated[
            float,
            strawberry.argument(
                description="A row is `flagged` when at least this share (0 to 1) of its "
                "events is under the threshold."
            ),
        ] = DEFAULT_FLAG_SHARE,
        first: Annotated[
            int,
            strawberry.argument(description=f"At most this many rows (at most {MAX_ROWS})."),
        ] = DEFAULT_ROWS,
    ) -> ConversionDelay:
        context = info.context
        histogram = await service.conversion_delay(
            context.engine,
            workspace_id=context.principal.workspace_id,
            timeout_ms=context.settings.report_timeout_ms,
            filter_=filter,
            group_by=group_by,
            types=types,
            statuses=statuses,
            threshold_seconds=threshold_seconds,
            flag_share=flag_share,
            first=first,
        )
        rows = [_row(f, group_by, flag_share) for f in histogram.rows]
        await load_references(rows, context.loaders, selection(info).under("rows").names())
        return ConversionDelay(
            buckets=[
                DelayBucket(from_seconds=b.from_seconds, to_seconds=b.to_seconds, label=b.label)
                for b in histogram.buckets
            ],
            threshold_seconds=threshold_seconds,
            flag_share=flag_share,
            rows=rows,
            totals=[_row(f, None, flag_share) for f in histogram.totals],
            total_rows=histogram.total_rows,
        )


def _row(figures: DelayFigures, group_by: ReportDimension | None, flag_share: float) -> DelayRow:
    share = figures.under_threshold / figures.events
    ids = dict.fromkeys(_IDS.values())
    if group_by in _IDS and figures.key is not None:
        ids[_IDS[group_by]] = int(figures.key)
    return DelayRow(
        type=figures.type,
        key=figures.key,
        events=figures.events,
        counts=figures.counts,
        under_threshold=figures.under_threshold,
        share_under_threshold=share,
        flagged=share >= flag_share,
        median_seconds=figures.median_seconds,
        **ids,
    )
