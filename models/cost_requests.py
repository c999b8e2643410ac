"""Taking a cost update: the request checked, converted and recorded, then planned in
chunks, and its progress read back.

Both the GraphQL API and the CLI take requests; the ingestion service applies their batches
(`ingestion.costs`). A request is recorded in one transaction, then planned before the answer:
its matching clicks are counted and cut into batches of consecutive primary keys, a chunk of
at most ``PLAN_CLICKS`` of the campaign's clicks per statement and transaction, which also
moves the plan's cursor (so no statement nears the statement timeout however many millions of
clicks the range holds, and no transaction outlives its chunk). A plan interrupted anywhere
(its requester gone) is resumed at its cursor by whoever next takes the update (an ingestion
worker, a retry with the same request id), and counts no click twice. An amount in another
currency is converted click by click at the rate valid at the click's time when the batches
are applied (as a conversion's revenue is at the event's time); here it is checked at the
largest rate the range holds, and recorded at the rate valid at its start.
"""

import re
from collections.abc import Callable
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
# The campaign's clicks one planning statement reads at most (matching or not): a bounded
# statement and transaction of about 0.2 s on a quiet machine (bench/costs.py).
PLAN_CLICKS = 100_000
# The two-key advisory lock form: "plan" in ASCII, then the update id modulo 2^31. Held by the
# session planning an update (its requester, or whoever resumes it), so a worker leaves a plan
# to the request making it, and the requester alone answers a refusal.
PLAN_LOCK_CLASS = 0x706C616E
PLAN_LOCK_KEYS = 2**31
# Told of each plan chunk committed: the update's id.
ChunkDone = Callable[[int], None]
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
        narrowing, values = self.narrowing(first + 3)
        sql = f"campaign_id = ${first} AND created_at >= ${first + 1} AND created_at < ${first + 2}"
        return f"{sql} AND {narrowing}", [self.campaign_id, self.starts_at, self.ends_at, *values]

    def narrowing(self, first: int) -> tuple[str, list[object]]:
        """The filters beside campaign and range (``TRUE`` without any), with parameters
        numbered from ``first``."""
        conditions: list[str] = []
        values: list[object] = []
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
        if not conditions:
            return "TRUE", []
        sql = " AND ".join(c.format(first + i) for i, c in enumerate(conditions))
        return f"({sql})", values


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
    # Null while its chunks are being planned.
    planned_at: datetime | None
    # False when an earlier request had the same request id: this is its update.
    created: bool = True

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def planned(self) -> bool:
        return self.planned_at is not None


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


async def take_cost_update(
    conn: asyncpg.Connection,
    request: CostRequest,
    *,
    batch_clicks: int = BATCH_CLICKS,
    plan_clicks: int = PLAN_CLICKS,
    on_chunk: ChunkDone | None = None,
) -> CostUpdateProgress:
    """Check, convert and record the request (one transaction), then plan it (one transaction
    per chunk, ``on_chunk`` told after each); ``conn`` must not be in a transaction. A request
    id used before answers that update (if the requests match), planning it first if its
    requester left it half planned (or, when another session is planning it, as far as it
    got).

    A total with nothing to spread it over, or too much for one click, is refused once the
    plan has counted the clicks: the update is deleted (nothing was applied) and
    ``CostRequestError`` raised, as for any other refusal.
    """
    locked: int | None = None
    try:
        async with conn.transaction():
            recorded = await _record(conn, request)
            if recorded.created and not recorded.planned:
                # Before the commit makes the update visible to workers: its plan is ours.
                await conn.execute(
                    "SELECT pg_advisory_lock($1, $2)",
                    PLAN_LOCK_CLASS,
                    recorded.id % PLAN_LOCK_KEYS,
                )
                locked = recorded.id
        if recorded.planned:
            return recorded
        if locked is None:
            if not await _try_lock_plan(conn, recorded.id):
                return recorded
            locked = recorded.id
        planned = await _plan_all(
            conn,
            workspace_id=request.workspace_id,
            update_id=recorded.id,
            batch_clicks=batch_clicks,
            plan_clicks=plan_clicks,
            on_chunk=on_chunk,
        )
        return replace(planned, created=recorded.created)
    finally:
        if locked is not None and not conn.is_closed():
            await _unlock_plan(conn, locked)


async def plan_cost_update(
    conn: asyncpg.Connection,
    *,
    workspace_id: int,
    update_id: int,
    batch_clicks: int = BATCH_CLICKS,
    plan_clicks: int = PLAN_CLICKS,
) -> bool:
    """Finish the plan of an update whose requester left it unfinished; False if another
    session is planning it. An update refused once counted is deleted (``CostRequestError``
    is not raised here: nobody waits for the answer; a retry with its request id gets it)."""
    if not await _try_lock_plan(conn, update_id):
        return False
    try:
        await _plan_all(
            conn,
            workspace_id=workspace_id,
            update_id=update_id,
            batch_clicks=batch_clicks,
            plan_clicks=plan_clicks,
        )
    except CostRequestError:
        pass
    finally:
        if not conn.is_closed():
            await _unlock_plan(conn, update_id)
    return True


async def _try_lock_plan(conn: asyncpg.Connection, update_id: int) -> bool:
    locked: bool = await conn.fetchval(
        "SELECT pg_try_advisory_lock($1, $2)", PLAN_LOCK_CLASS, update_id % PLAN_LOCK_KEYS
    )
    return locked


async def _unlock_plan(conn: asyncpg.Connection, update_id: int) -> None:
    await conn.fetchval(
        "SELECT pg_advisory_unlock($1, $2)", PLAN_LOCK_CLASS, update_id % PLAN_LOCK_KEYS
    )


async def _record(conn: asyncpg.Connection, request: CostRequest) -> CostUpdateProgress:
    """Check, convert and record the request, unplanned, in the caller's transaction."""
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
    rates = await _rate(conn, request, currency, workspace_currency)
    converted = _converted(request, currency, rates, workspace_currency)
    rate = rates[0]
    scope = request.scope
    update_id = await conn.fetchval(
        """
        INSERT INTO cost_updates (
            workspace_id, api_key_id, request_id, campaign_id, starts_at, ends_at,
            traffic_source_id, country, sub_number, sub_value, mode, amount, currency, rate,
            converted_amount, planned_clicks, batches)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, 0)
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
    )
    if update_id is None:
        # The same request id, committed by a concurrent request meanwhile.
        earlier = await _by_request_id(conn, request)
        assert earlier is not None
        return earlier
    # Queued at once: a worker finishes the plan if its requester cannot.
    await conn.execute(
        "INSERT INTO cost_update_queue (update_id, workspace_id) VALUES ($1, $2)", update_id, ws
    )
    progress = await cost_update_progress(conn, workspace_id=ws, update_id=update_id)
    assert progress is not None
    return progress


async def _plan_all(
    conn: asyncpg.Connection,
    *,
    workspace_id: int,
    update_id: int,
    batch_clicks: int,
    plan_clicks: int,
    on_chunk: ChunkDone | None = None,
) -> CostUpdateProgress:
    """Plan chunk after chunk until the plan is finished (the caller holds the plan lock)."""
    finished = False
    while not finished:
        finished = await _plan_chunk(
            conn,
            workspace_id=workspace_id,
            update_id=update_id,
            batch_clicks=batch_clicks,
            plan_clicks=plan_clicks,
        )
        if on_chunk is not None:
            on_chunk(update_id)
    progress = await cost_update_progress(conn, workspace_id=workspace_id, update_id=update_id)
    assert progress is not None
    return progress


async def _plan_chunk(
    conn: asyncpg.Connection,
    *,
    workspace_id: int,
    update_id: int,
    batch_clicks: int,
    plan_clicks: int,
) -> bool:
    """Plan the next chunk in a transaction of its own; True when the plan is finished.

    The chunk reads up to ``plan_clicks`` of the campaign's clicks after the cursor (matching
    the filters or not, so a rare country costs no longer statement than a common one), cuts
    a batch wherever the matching clicks since the last cut reach ``batch_clicks``, and moves
    the cursor to the last click read, together with the batches: a chunk counts once.
    """
    refusal: CostRequestError | None = None
    async with conn.transaction():
        row = await conn.fetchrow(
            """
            SELECT u.mode, u.amount, u.currency, u.rate, u.planned_clicks, u.batches, u.planned_at,
                   u.plan_cursor_at, u.plan_cursor_id, u.campaign_id, u.starts_at, u.ends_at,
                   u.traffic_source_id, u.country, u.sub_number, u.sub_value
            FROM cost_updates AS u WHERE u.workspace_id = $1 AND u.id = $2
            FOR UPDATE
            """,
            workspace_id,
            update_id,
        )
        if row is None or row["planned_at"] is not None:
            return True
        cut_through: int = await conn.fetchval(
            """
            SELECT coalesce(max(planned_through), 0) FROM cost_update_batches
            WHERE workspace_id = $1 AND update_id = $2
            """,
            workspace_id,
            update_id,
        )
        scope = ClickScope(
            campaign_id=row["campaign_id"],
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            traffic_source_id=row["traffic_source_id"],
            country=row["country"],
            sub_number=row["sub_number"],
            sub_value=row["sub_value"],
        )
        planned: int = row["planned_clicks"]
        batches: int = row["batches"]
        # Every click id is longer than '': the first chunk starts at the range's first click.
        cursor: tuple[datetime, str] = (
            (row["plan_cursor_at"], row["plan_cursor_id"])
            if row["plan_cursor_at"] is not None
            else (scope.starts_at, "")
        )
        since_cut = planned - cut_through
        rows = await _scan(conn, workspace_id, scope, cursor, plan_clicks, since_cut, batch_clicks)
        cuts: list[tuple[int, int, int, datetime, str, int]] = []
        for found in rows:
            if found["hit"] is True and (since_cut + found["n"]) % batch_clicks == 0:
                through = planned + found["n"]
                cuts.append((workspace_id, update_id, batches + len(cuts), *_key(found), through))
        read = rows[-1]["r"] if rows else 0
        if rows:
            cursor = _key(rows[-1])
            planned += rows[-1]["n"]
        last_cut = cuts[-1][-1] if cuts else cut_through
        finished = read < plan_clicks
        if finished and planned > last_cut:
            # The matching clicks after the last cut: a batch up to the last click read.
            cuts.append((workspace_id, update_id, batches + len(cuts), *cursor, planned))
        batches += len(cuts)
        if finished and CostUpdateMode(row["mode"]) is CostUpdateMode.TOTAL:
            currency: str = await conn.fetchval(
                "SELECT currency FROM workspaces WHERE id = $1", workspace_id
            )
            largest = row["rate"]
            if row["currency"] != currency:
                later = await _largest_rate_after_start(
                    conn, workspace_id, row["currency"], scope.starts_at, scope.ends_at
                )
                largest = max(largest, later or largest)
            with localcontext(prec=60):
                at_largest = (row["amount"] * largest).quantize(MICRO, rounding=ROUND_HALF_UP)
            try:
                _check_spread(at_largest, planned, currency)
            except CostRequestError as error:
                refusal = error
        if refusal is not None:
            # Nothing was applied: a refused request leaves no update behind.
            await conn.execute("DELETE FROM cost_update_queue WHERE update_id = $1", update_id)
            await conn.execute(
                "DELETE FROM cost_updates WHERE workspace_id = $1 AND id = $2",
                workspace_id,
                update_id,
            )
        else:
            if cuts:
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
                    records=cuts,
                )
            await conn.execute(
                """
                UPDATE cost_updates
                SET planned_clicks = $3, batches = $4, plan_cursor_at = $5, plan_cursor_id = $6,
                    planned_at = CASE WHEN $7 THEN now() END,
                    finished_at = CASE WHEN $7 AND $4 = 0 THEN now() END
                WHERE workspace_id = $1 AND id = $2
                """,
                workspace_id,
                update_id,
                planned,
                batches,
                cursor[0] if rows or row["plan_cursor_at"] is not None else None,
                cursor[1] if rows or row["plan_cursor_at"] is not None else None,
                finished,
            )
            if finished and not batches:
                await conn.execute("DELETE FROM cost_update_queue WHERE update_id = $1", update_id)
    if refusal is not None:
        raise refusal
    return finished


def _key(row: asyncpg.Record) -> tuple[datetime, str]:
    return row["created_at"], row["id"]


async def _scan(
    conn: asyncpg.Connection,
    workspace_id: int,
    scope: ClickScope,
    cursor: tuple[datetime, str],
    limit: int,
    since_cut: int,
    batch_clicks: int,
) -> list[asyncpg.Record]:
    """Of the campaign's next ``limit`` clicks after ``cursor`` in the range (in key order):
    the matching ones a batch ends at, and the last one read. ``n``: matching clicks read up
    to the row; ``r``: clicks read up to it."""
    hit, values = scope.narrowing(9)
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""
        SELECT created_at, id, hit, n, r FROM (
            SELECT created_at, id, hit,
                   count(*) FILTER (WHERE hit) OVER w AS n,
                   row_number() OVER w AS r,
                   lead(id) OVER w IS NULL AS last
            FROM (
                SELECT created_at, id, {hit} AS hit FROM clicks
                WHERE workspace_id = $1 AND campaign_id = $2
                    AND created_at >= $3 AND created_at < $4 AND (created_at, id) > ($3, $5)
                ORDER BY created_at, id
                LIMIT $6
            ) AS read
            WINDOW w AS (ORDER BY created_at, id)
        ) AS numbered
        WHERE (hit AND ($7::bigint + n) % $8::bigint = 0) OR last
        ORDER BY created_at, id
        """,  # noqa: S608 - conditions from ClickScope.narrowing, values as parameters
        workspace_id,
        scope.campaign_id,
        cursor[0],
        scope.ends_at,
        cursor[1],
        limit,
        since_cut,
        batch_clicks,
        *values,
    )
    return rows


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
) -> tuple[Decimal, Decimal]:
    """The rate valid at the range's start, and the largest one valid in the range (each click
    is converted at the rate of its time): both 1 for the workspace currency."""
    if currency == workspace_currency:
        return Decimal(1), Decimal(1)
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
    later = await _largest_rate_after_start(
        conn, request.workspace_id, currency, request.scope.starts_at, request.scope.ends_at
    )
    return rate, max(rate, later or rate)


async def _largest_rate_after_start(
    conn: asyncpg.Connection,
    workspace_id: int,
    currency: str,
    starts_at: datetime,
    ends_at: datetime,
) -> Decimal | None:
    largest: Decimal | None = await conn.fetchval(
        """
        SELECT max(rate) FROM currency_rates
        WHERE workspace_id = $1 AND currency = $2 AND valid_from > $3 AND valid_from < $4
        """,
        workspace_id,
        currency,
        starts_at,
        ends_at,
    )
    return largest


def _converted(
    request: CostRequest, currency: str, rates: tuple[Decimal, Decimal], workspace_currency: str
) -> Decimal:
    """The amount in the workspace currency at the rate valid at the range's start, rounded to
    the cost column's millionths; refused if at the largest rate of the range it is too much."""
    rate, largest = rates
    limit = MAX_CLICK_COST if request.mode is CostUpdateMode.PER_CLICK else MAX_TOTAL
    what = "a click's cost" if request.mode is CostUpdateMode.PER_CLICK else "a total"
    # Exact: the product of two bounded decimals has at most 60 digits.
    with localcontext(prec=60):
        converted = (request.amount * rate).quantize(MICRO, rounding=ROUND_HALF_UP)
        at_largest = (request.amount * largest).quantize(MICRO, rounding=ROUND_HALF_UP)
    if at_largest >= limit:
        at = "" if currency == workspace_currency else f" at the stored rate of {largest}"
        raise CostRequestError(
            f"{request.amount} {currency}{at} is {workspace_currency} {at_largest}: {what} "
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


async def cost_update_progress(
    conn: asyncpg.Connection, *, workspace_id: int, update_id: int
) -> CostUpdateProgress | None:
    row = await conn.fetchrow(
        """
        SELECT id, created_at, campaign_id, planned_clicks, clicks_touched, old_total, new_total,
               currency, amount, converted_amount, batches, batches_applied, finished_at,
               planned_at
        FROM cost_updates WHERE workspace_id = $1 AND id = $2
        """,
        workspace_id,
        update_id,
    )
    return None if row is None else CostUpdateProgress(**dict(row))
