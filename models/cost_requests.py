"""Taking a cost update: the request checked, converted, planned and recorded in one
transaction, and its progress read back.

Both the GraphQL API and the CLI take requests; the ingestion service applies their batches
(`ingestion.costs`). A request is planned when it is taken: the clicks it matches are counted
and cut into batches of consecutive primary keys in one snapshot, so a retry or a resumption
applies the same plan. The amount is converted once, at the stored rate valid at the range's
start, so a total stays one exact number in the workspace currency.
"""

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

import asyncpg

from models.click import SUB_COLUMNS, SUB_COUNT
from models.enums import CostUpdateMode

# A click's cost column holds less than this (numeric(18,6)).
MAX_CLICK_COST = Decimal(10) ** 12
# A total, before and after conversion: far beyond any spend, and exact in numeric(38,6).
MAX_TOTAL = Decimal(10) ** 18
MICRO = Decimal("0.000001")
# One update covers at most a year and a day (any calendar year): a bounded plan and job.
MAX_RANGE = timedelta(days=366)
# Click ids count milliseconds from 1970; reports stop before the year 9999.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
MAX_SUB_VALUE = 8_192
MAX_REQUEST_ID = 100
# Clicks per batch: each batch is one transaction holding its clicks' row locks (which no
# ingestion statement waits for) for about a tenth of a second (bench/costs.py).
BATCH_CLICKS = 5_000
_COUNTRY = re.compile(r"[A-Z]{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")


class CostRequestError(Exception):
    """A request that cannot be taken, with the input field at fault (None: the whole input).

    ``missing``: it names a campaign or traffic source the workspace does not have.
    """

    def __init__(self, message: str, *, field: str | None = None, missing: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.missing = missing


@dataclass(frozen=True, slots=True)
class ClickScope:
    """The clicks an update matches: one campaign's, in a time range, optionally narrowed."""

    campaign_id: int
    starts_at: datetime
    ends_at: datetime
    traffic_source_id: int | None = None
    country: str | None = None
    sub_number: int | None = None
    sub_value: str | None = None

    def where(self, first: int) -> tuple[str, list[object]]:
        """The conditions beside ``workspace_id``, with parameters numbered from ``first``."""
        conditions = ["campaign_id = ${}", "created_at >= ${}", "created_at < ${}"]
        values: list[object] = [self.campaign_id, self.starts_at, self.ends_at]
        if self.traffic_source_id is not None:
            conditions.append("traffic_source_id = ${}")
            values.append(self.traffic_source_id)
        if self.country is not None:
            conditions.append("country = ${}")
            values.append(self.country)
        if self.sub_number is not None:
            # The column comes from the model, by a number checked to be 1..SUB_COUNT.
            conditions.append(f"{SUB_COLUMNS[self.sub_number - 1]} = ${{}}")
            values.append(self.sub_value)
        sql = " AND ".join(c.format(first + i) for i, c in enumerate(conditions))
        return sql, values


@dataclass(frozen=True, slots=True)
class CostRequest:
    workspace_id: int
    scope: ClickScope
    mode: CostUpdateMode
    amount: Decimal
    # None: the workspace currency.
    currency: str | None = None
    # None: the CLI.
    api_key_id: int | None = None
    # The client's name for the request: a retry with the same one finds the same update.
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class CostUpdateProgress:
    id: int
    created_at: datetime
    campaign_id: int
    planned_clicks: int
    clicks_touched: int
    old_total: Decimal
    new_total: Decimal
    currency: str
    amount: Decimal
    converted_amount: Decimal
    batches: int
    batches_applied: int
    finished_at: datetime | None
    # False when an earlier request had the same request id: this is its update.
    created: bool = True

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


def checked(request: CostRequest) -> CostRequest:
    """The request with its values normalised, or the first reason it cannot be taken."""
    amount = request.amount
    if not amount.is_finite() or amount < 0:
        raise CostRequestError(
            f"amount must be a number of 0 or more, got {amount}", field="amount"
        )
    if amount >= MAX_TOTAL:
        raise CostRequestError(f"amount must be below {MAX_TOTAL:,}", field="amount")
    if amount != amount.quantize(MICRO):
        raise CostRequestError(
            "amount takes at most 6 decimal places (millionths, as costs are stored)",
            field="amount",
        )
    scope = request.scope
    for name, moment in (("from", scope.starts_at), ("to", scope.ends_at)):
        if moment.tzinfo is None:
            raise CostRequestError(
                f"{name} needs a time zone offset, e.g. 2026-11-01T00:00:00Z", field=name
            )
        if not EARLIEST <= moment <= LATEST:
            raise CostRequestError(
                f"{name} must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}", field=name
            )
    if scope.ends_at <= scope.starts_at:
        raise CostRequestError("to must be after from (the range is from <= time < to)", field="to")
    if scope.ends_at - scope.starts_at > MAX_RANGE:
        raise CostRequestError(
            f"a range spans at most {MAX_RANGE.days} days: split longer ones", field="to"
        )
    country = scope.country.upper() if scope.country is not None else None
    if country is not None and not _COUNTRY.fullmatch(country):
        raise CostRequestError(
            f"country must be a two-letter ISO 3166 code such as DE, got {country[:20]!r}",
            field="country",
        )
    if (scope.sub_number is None) != (scope.sub_value is None):
        raise CostRequestError("a sub filter needs both its number and its value", field="sub")
    if scope.sub_number is not None and not 1 <= scope.sub_number <= SUB_COUNT:
        raise CostRequestError(f"sub numbers run from 1 to {SUB_COUNT}", field="sub")
    if scope.sub_value is not None:
        _check_text(scope.sub_value, "sub", MAX_SUB_VALUE)
    currency = request.currency.upper() if request.currency is not None else None
    if currency is not None and not _CURRENCY.fullmatch(currency):
        raise CostRequestError(
            f"currency must be a three-letter ISO 4217 code such as USD, got {currency[:20]!r}",
            field="currency",
        )
    if request.request_id is not None:
        _check_text(request.request_id, "requestId", MAX_REQUEST_ID)
        if not request.request_id.strip():
            raise CostRequestError("requestId must not be blank", field="requestId")
    return CostRequest(
        workspace_id=request.workspace_id,
        scope=ClickScope(
            campaign_id=scope.campaign_id,
            starts_at=scope.starts_at.astimezone(UTC),
            ends_at=scope.ends_at.astimezone(UTC),
            traffic_source_id=scope.traffic_source_id,
            country=country,
            sub_number=scope.sub_number,
            sub_value=scope.sub_value,
        ),
        mode=request.mode,
        amount=amount,
        currency=currency,
        api_key_id=request.api_key_id,
        request_id=request.request_id,
    )


def _check_text(value: str, field: str, limit: int) -> None:
    if len(value) > limit:
        raise CostRequestError(f"{field} takes at most {limit} characters", field=field)
    # PostgreSQL's text cannot hold NUL: no click carries one.
    if "\x00" in value:
        raise CostRequestError(f"{field} must not contain NUL characters", field=field)


async def record_cost_update(
    conn: asyncpg.Connection, request: CostRequest, *, batch_clicks: int = BATCH_CLICKS
) -> CostUpdateProgress:
    """Check, convert, plan and record the request, in the caller's transaction; the caller
    commits. A request id used before answers that update (if the requests match)."""
    request = checked(request)
    ws = request.workspace_id
    if request.request_id is not None:
        earlier = await _by_request_id(conn, request)
        if earlier is not None:
            return earlier
    await _check_references(conn, request)
    workspace_currency: str = await conn.fetchval(
        "SELECT currency FROM workspaces WHERE id = $1", ws
    )
    currency = request.currency or workspace_currency
    rate = await _rate(conn, request, currency, workspace_currency)
    converted = _converted(request, currency, rate, workspace_currency)
    plan = await _plan(conn, request, batch_clicks)
    clicks = plan[-1][2] if plan else 0
    if request.mode is CostUpdateMode.TOTAL:
        _check_spread(converted, clicks, workspace_currency)
    scope = request.scope
    update_id = await conn.fetchval(
        """
        INSERT INTO cost_updates (
            workspace_id, api_key_id, request_id, campaign_id, starts_at, ends_at,
            traffic_source_id, country, sub_number, sub_value, mode, amount, currency, rate,
            converted_amount, planned_clicks, batches, finished_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                CASE WHEN $17 = 0 THEN now() END)
        ON CONFLICT (workspace_id, request_id) DO NOTHING
        RETURNING id
        """,
        ws,
        request.api_key_id,
        request.request_id,
        scope.campaign_id,
        scope.starts_at,
        scope.ends_at,
        scope.traffic_source_id,
        scope.country,
        scope.sub_number,
        scope.sub_value,
        request.mode.value,
        request.amount,
        currency,
        rate,
        converted,
        clicks,
        len(plan),
    )
    if update_id is None:
        # The same request id, committed by a concurrent request meanwhile.
        earlier = await _by_request_id(conn, request)
        assert earlier is not None
        return earlier
    await conn.copy_records_to_table(
        "cost_update_batches",
        columns=(
            "workspace_id",
            "update_id",
            "batch",
            "last_created_at",
            "last_id",
            "planned_through",
        ),
        records=[
            (ws, update_id, i, at, click_id, through)
            for i, (at, click_id, through) in enumerate(plan)
        ],
    )
    if plan:
        await conn.execute(
            "INSERT INTO cost_update_queue (update_id, workspace_id) VALUES ($1, $2)",
            update_id,
            ws,
        )
    progress = await cost_update_progress(conn, workspace_id=ws, update_id=update_id)
    assert progress is not None
    return progress


async def _by_request_id(
    conn: asyncpg.Connection, request: CostRequest
) -> CostUpdateProgress | None:
    row = await conn.fetchrow(
        """
        SELECT id, campaign_id, starts_at, ends_at, traffic_source_id, country, sub_number,
               sub_value, mode, amount, currency
        FROM cost_updates WHERE workspace_id = $1 AND request_id = $2
        """,
        request.workspace_id,
        request.request_id,
    )
    if row is None:
        return None
    scope = request.scope
    asked = (
        scope.campaign_id,
        scope.starts_at,
        scope.ends_at,
        scope.traffic_source_id,
        scope.country,
        scope.sub_number,
        scope.sub_value,
        request.mode.value,
        request.amount,
    )
    stored = tuple(
        row[k]
        for k in (
            "campaign_id",
            "starts_at",
            "ends_at",
            "traffic_source_id",
            "country",
            "sub_number",
            "sub_value",
            "mode",
            "amount",
        )
    )
    if asked != stored or request.currency not in (None, row["currency"]):
        raise CostRequestError(
            f"requestId {request.request_id!r} was used for another update (id {row['id']}): "
            "a retry must repeat the request unchanged; a new update needs a new requestId",
            field="requestId",
        )
    found = await cost_update_progress(conn, workspace_id=request.workspace_id, update_id=row["id"])
    assert found is not None
    return replace(found, created=False)


async def _check_references(conn: asyncpg.Connection, request: CostRequest) -> None:
    """Another workspace's campaign or traffic source is as unknown as one that never was."""
    scope = request.scope
    row = await conn.fetchrow(
        """
        SELECT EXISTS (SELECT FROM campaigns WHERE workspace_id = $1 AND id = $2) AS campaign,
               EXISTS (SELECT FROM traffic_sources WHERE workspace_id = $1 AND id = $3) AS source
        """,
        request.workspace_id,
        scope.campaign_id,
        scope.traffic_source_id,
    )
    assert row is not None
    if not row["campaign"]:
        raise CostRequestError(
            f"no campaign with id {scope.campaign_id}", field="campaignId", missing=True
        )
    if scope.traffic_source_id is not None and not row["source"]:
        raise CostRequestError(
            f"no traffic source with id {scope.traffic_source_id}",
            field="trafficSourceId",
            missing=True,
        )


async def _rate(
    conn: asyncpg.Connection, request: CostRequest, currency: str, workspace_currency: str
) -> Decimal:
    if currency == workspace_currency:
        return Decimal(1)
    rate: Decimal | None = await conn.fetchval(
        """
        SELECT rate FROM currency_rates
        WHERE workspace_id = $1 AND currency = $2 AND valid_from <= $3
        ORDER BY valid_from DESC LIMIT 1
        """,
        request.workspace_id,
        currency,
        request.scope.starts_at,
    )
    if rate is None:
        raise CostRequestError(
            f"no {currency} -> {workspace_currency} rate valid at "
            f"{request.scope.starts_at.isoformat()} is stored for this workspace (setCurrencyRate)",
            field="currency",
        )
    return rate


def _converted(
    request: CostRequest, currency: str, rate: Decimal, workspace_currency: str
) -> Decimal:
    """The amount in the workspace currency, rounded to the cost column's millionths."""
    limit = MAX_CLICK_COST if request.mode is CostUpdateMode.PER_CLICK else MAX_TOTAL
    what = "a click's cost" if request.mode is CostUpdateMode.PER_CLICK else "a total"
    # Exact: the product of two bounded decimals has at most 60 digits.
    with localcontext(prec=60):
        converted = (request.amount * rate).quantize(MICRO, rounding=ROUND_HALF_UP)
    if converted >= limit:
        at = "" if currency == workspace_currency else f" at the stored rate of {rate}"
        raise CostRequestError(
            f"{request.amount} {currency}{at} is {workspace_currency} {converted}: {what} "
            f"must be below {limit:,}",
            field="amount",
        )
    return converted


def _check_spread(total: Decimal, clicks: int, workspace_currency: str) -> None:
    if clicks == 0:
        if total:
            raise CostRequestError(
                "no clicks match the campaign, range and filters: there is nothing to spread "
                "the total over"
            )
        return
    # The largest share is the total's millionths divided up, rounded up.
    largest = -(-int(total / MICRO) // clicks) * MICRO
    if largest >= MAX_CLICK_COST:
        raise CostRequestError(
            f"{workspace_currency} {total} over {clicks} clicks is up to {largest} a click: a "
            f"click's cost must be below {MAX_CLICK_COST:,}",
            field="amount",
        )


async def _plan(
    conn: asyncpg.Connection, request: CostRequest, batch_clicks: int
) -> list[tuple[datetime, str, int]]:
    """Each batch's last click key and the matching clicks up to it, in key order."""
    where, values = request.scope.where(3)
    rows = await conn.fetch(
        f"""
        SELECT created_at, id, n FROM (
            SELECT created_at, id, row_number() OVER w AS n, lead(id) OVER w IS NULL AS last
            FROM clicks WHERE workspace_id = $1 AND {where}
            WINDOW w AS (ORDER BY created_at, id)
        ) AS numbered
        WHERE n % $2 = 0 OR last
        ORDER BY n
        """,  # noqa: S608 - conditions from ClickScope.where, values as parameters
        request.workspace_id,
        batch_clicks,
        *values,
    )
    return [(row["created_at"], row["id"], row["n"]) for row in rows]


async def cost_update_progress(
    conn: asyncpg.Connection, *, workspace_id: int, update_id: int
) -> CostUpdateProgress | None:
    row = await conn.fetchrow(
        """
        SELECT id, created_at, campaign_id, planned_clicks, clicks_touched, old_total, new_total,
               currency, amount, converted_amount, batches, batches_applied, finished_at
        FROM cost_updates WHERE workspace_id = $1 AND id = $2
        """,
        workspace_id,
        update_id,
    )
    return None if row is None else CostUpdateProgress(**dict(row))
