"""In-process benchmark of GraphQL execution alone: no HTTP, no database.

    PYTHONPATH=. .venv/bin/python bench/execution.py [--repeat 30]

The real schema (its types and extensions) with root fields that hand back objects built once
beforehand: the page of 100 clicks and the 1,000-row report of bench/api_reads.py, with the
same selections. It times `schema.execute` with graphql-core's executor and with the API's
(api/execution.py), checks that both answer the same, and times the JSON encoding of the
answer as the API encodes it, so that what execution costs can be told apart from SQL and HTTP.
"""

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from ipaddress import IPv4Address
from typing import Any

import msgspec
import strawberry
from strawberry.scalars import JSON
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionResult

from api.auth import Principal
from api.catalog.types import CampaignType, OfferType, TrafficSourceType
from api.clicks.types import ClickType
from api.conversions.types import ConversionEventType
from api.enums import ConversionStatus, CostModel, RecordStatus
from api.pagination import Connection, CursorScope, Position, connection
from api.reports.queries import TABLE_METRICS, _metrics
from api.reports.types import Report, ReportRow, ReportTable, TypeMetrics
from api.schema import build_schema
from models.enums import ApiScope
from models.settings import Settings

START = datetime(2026, 11, 1, tzinfo=UTC)
PAGE = """
{
  clicks(first: 100) {
    nodes {
      id createdAt country deviceType os browser subs cost
      campaign { name } offer { name } trafficSource { name }
      conversions { type txid status amount createdAt secondsFromClick }
      transactions { txid amount status }
    }
  }
}
"""
REPORT = """
fragment Figures on ReportRow {
  clicks uniqueClicks botClicks conversions transactions revenue cost profit roi cr epc cpa
}
{
  report {
    rows { bucket campaign { id name } ...Figures }
    totals { ...Figures byType { type count revenue } }
    totalRows
    source
  }
}
"""
TABLE = "{ report { table { columns rows } totalRows source } }"


def _source() -> TrafficSourceType:
    return TrafficSourceType(
        id=strawberry.ID("1"),
        name="network",
        click_id_param="gclid",
        status=RecordStatus.ACTIVE,
        created_at=START,
    )


def _campaign(n: int) -> CampaignType:
    return CampaignType(
        id=strawberry.ID(str(n)),
        key=f"key{n}",
        name=f"campaign {n}",
        cost_model=CostModel.CPC,
        cost_value=Decimal("0.05"),
        attribution_window_days=30,
        status=RecordStatus.ACTIVE,
        created_at=START,
        traffic_source_id=1,
    )


def _offer() -> OfferType:
    return OfferType(
        id=strawberry.ID("1"),
        name="offer",
        url="https://example.com/?c={clickid}",
        payout=Decimal("10.00"),
        currency="EUR",
        status=RecordStatus.ACTIVE,
        created_at=START,
    )


def _event(n: int, type_: str, click: ClickType) -> ConversionEventType:
    return ConversionEventType(
        id=strawberry.ID(str(n)),
        type=type_,
        txid="" if type_ == "conversion" else f"tx{n}",
        status=ConversionStatus.APPROVED,
        amount=Decimal("12.50"),
        original_amount=None,
        original_currency=None,
        cost=Decimal(0),
        created_at=click.created_at + timedelta(minutes=n),
        updated_at=click.created_at + timedelta(minutes=n),
        seconds_from_click=60.0 * n,
        counts_as_conversion=type_ == "conversion",
        counts_in_revenue=True,
        params=JSON({"sum": "12.50"}),
        click_id=click.id,
        type_id=1,
    )


def clicks(count: int) -> list[ClickType]:
    """Clicks as a page holds them: a tenth converted, a third of those with transactions."""
    campaigns = [_campaign(n) for n in range(40)]
    offer, source = _offer(), _source()
    result = []
    for n in range(count):
        click = ClickType(
            id=strawberry.ID(f"click{n:06d}"),
            created_at=START - timedelta(seconds=n),
            inet=IPv4Address("192.0.2.1"),
            user_agent="Mozilla/5.0",
            device_type="mobile",
            os="Android",
            browser="Chrome",
            is_bot=False,
            is_unique=True,
            country="DE",
            referrer=None,
            external_id=None,
            cost=Decimal("0.05"),
            subs=["site0003", None, "x"],
            params=JSON({"sub1": "site0003"}),
            campaign_id=n % 40,
            offer_id=1,
            traffic_source_id=1,
            campaign=campaigns[n % 40],
            offer=offer,
            traffic_source=source,
            loaded_events=[],
        )
        if n % 10 == 0:
            click.conversions = [_event(1, "conversion", click)]
            if n % 30 == 0:
                click.transactions = [_event(2, "transaction", click)]
            click.loaded_events = click.conversions + click.transactions
        result.append(click)
    return result


def report_rows(count: int) -> list[ReportRow]:
    """Day x campaign rows with every metric."""
    campaigns = [_campaign(n) for n in range(40)]
    rows = []
    for n in range(count):
        sums = {
            "clicks": 5_000 + n,
            "unique_clicks": 4_000 + n,
            "bot_clicks": 150,
            "conversions": 500 + n % 7,
            "transactions": 160,
            "revenue": Decimal("6123.45") + n,
            "cost": Decimal("250.00") + n,
        }
        rows.append(
            ReportRow(
                bucket=START + timedelta(days=n // 40),
                country=None,
                device_type=None,
                os=None,
                browser=None,
                subs=[],
                campaign_id=n % 40,
                offer_id=None,
                traffic_source_id=None,
                campaign=campaigns[n % 40],
                by_type=[TypeMetrics(type="conversion", count=500, revenue=Decimal(6000))],
                **_metrics(sums),
            )
        )
    return rows


def table(rows: list[ReportRow]) -> ReportTable:
    columns = ["bucket", "campaignId", *TABLE_METRICS]
    values = [
        [
            None if row.bucket is None else row.bucket.isoformat(),
            row.campaign_id,
            *(getattr(row, m) for m in TABLE_METRICS),
        ]
        for row in rows
    ]
    return ReportTable(columns=columns, rows=JSON(values))


def bench_schema(page: list[ClickType], rows: list[ReportRow]) -> strawberry.Schema:
    report = Report(
        rows=rows,
        totals=rows[0],
        total_rows=len(rows),
        table=table(rows),
        source="rollup_bench",
    )

    @strawberry.type
    class Query:
        @strawberry.field
        async def clicks(self, first: int) -> Connection[ClickType]:
            async def count() -> int:
                return len(page)

            return connection(
                page[:first],
                has_next_page=False,
                after=None,
                position=lambda click: Position(click.created_at, click.id),
                scope=CursorScope("clicks", "NEWEST_FIRST"),
                count=count,
            )

        @strawberry.field
        async def report(self) -> Report:
            return report

    return build_schema(Settings(_env_file=None), query=Query, mutation=None)


def context() -> dict[str, Any]:
    return {"principal": Principal(1, 1, frozenset({ApiScope.READ}))}


async def timed(run: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, float, Any]:
    """Median and minimum milliseconds of `repeat` runs, and the last result."""
    samples, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), min(samples), result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    schema = bench_schema(clicks(100), report_rows(1_000))
    executors = {
        "graphql-core": StrawberryGraphQLCoreExecutionContext,
        "plain data": schema.execution_context_class,
    }
    for name, query in (("page", PAGE), ("report rows", REPORT), ("report table", TABLE)):
        line, answers = f"{name:<13}", []
        for executor_name, executor in executors.items():
            schema.execution_context_class = executor

            async def run(query: str = query) -> ExecutionResult:
                return await schema.execute(query, context_value=context())

            await timed(run, 3)
            median, best, result = await timed(run, args.repeat)
            assert not result.errors, result.errors
            answers.append(result.data)
            line += f"  {executor_name} p50 {median:6.1f} ms (min {best:6.1f})"
        assert answers[0] == answers[1], f"{name}: the executors answer differently"
        encode_median, _, _ = await _encoding({"data": answers[0]}, args.repeat)
        print(f"{line}  JSON (msgspec) p50 {encode_median:5.1f} ms")


async def _encoding(body: dict[str, Any], repeat: int) -> tuple[float, float, Any]:
    async def encode() -> bytes:
        return msgspec.json.encode(body)

    return await timed(encode, repeat)


if __name__ == "__main__":
    asyncio.run(main())
