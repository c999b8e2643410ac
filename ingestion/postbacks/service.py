"""Recording postback and pixel hits: authenticate, validate, deduplicate, log.

A hit is first prepared without the database, then applied with others in one transaction.
Every hit ends with one postback log row written in the same transaction as its effect, so an
acknowledged event and its log row are committed together; refusals are values, not
exceptions, so their log rows are committed too. So are the batch's changes to the report
rollups (models.rollups.EventChanges): each new event, and each update as -old +new.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from ingestion.errors import IngestionError
from ingestion.json_bodies import BodyError, flat_pairs
from ingestion.lookups import LookupCache
from ingestion.params import (
    AMOUNT,
    AMOUNT_SYNTAX,
    CLICK_ID,
    CONVERSION_TIME,
    CURRENCY,
    MAX_BODY_BYTES,
    MAX_PARAMS,
    STATUS,
    TXID,
    TYPE,
    check_param,
    parse_params,
    pick,
    single_values,
)
from ingestion.postbacks import repository, signature
from ingestion.postbacks.records import (
    ClickFacts,
    ClickKey,
    EventKey,
    Hit,
    NewEvent,
    NewForward,
    Outcome,
    RateSpan,
    Report,
    WorkspaceRules,
)
from models.catalog import DEFAULT_CONVERSION_TYPE
from models.click_ids import click_time
from models.conversion_rules import EventCost, dedup_txid, status_change_allowed
from models.database import driver_connection
from models.enums import ConversionStatus, DuplicatePolicy, HitKind, HitOutcome
from models.rollups import EventChanges, lock_shared
from models.workspace import POSTBACK_SECRET_SHAPE

# Settings changes (allowlist, types, secret rotation) reach postbacks within this many seconds.
WORKSPACE_CACHE_SECONDS = 5.0
MAX_TXID_LENGTH = 255
MAX_AMOUNT = Decimal("1e12")
_MICRO = Decimal("0.000001")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
UNIX_SECONDS = re.compile(r"[0-9]{1,11}")
# A file's clock may run a little ahead of ours; a conversion further ahead is a mistake.
MAX_CLOCK_SKEW = timedelta(hours=1)


class WorkspaceDirectory(LookupCache[str, WorkspaceRules | None]):
    """Workspace rules by postback secret, cached briefly (misses too) per process."""

    def __init__(self, engine: AsyncEngine) -> None:
        async def load(secret: str) -> WorkspaceRules | None:
            # A connection of its own: the lookup is shared by every request waiting for it.
            async with driver_connection(engine) as conn:
                return await repository.find_workspace(conn, secret)

        super().__init__(
            load, what="look up workspaces", ttl_s=WORKSPACE_CACHE_SECONDS, size=10_000
        )


@dataclass(frozen=True, slots=True)
class Ready:
    """A hit that passed every check needing no database: a report to apply."""

    hit: Hit
    workspace: WorkspaceRules
    report: Report

    @property
    def click_key(self) -> ClickKey:
        return (self.workspace.id, self.report.click_created_at, self.report.click_id)


@dataclass(frozen=True, slots=True)
class Refused:
    """A hit refused before the database: only its log row is written."""

    hit: Hit
    outcome: Outcome


Prepared = Ready | Refused


async def prepare(directory: WorkspaceDirectory, hit: Hit) -> Prepared:
    """Authenticate and validate a hit."""
    workspace: WorkspaceRules | None = None
    click_id: str | None = None
    try:
        workspace = await _workspace(directory, hit)
        # Refusals from here on are logged under the workspace, where its users look for them.
        _admit(workspace, hit)
        params = _params(hit)
        click_id = pick(params, CLICK_ID)
        if not click_id and hit.cookie_click_id:
            # Litestar percent-decodes cookies, so `ct_click=%00` arrives as a NUL, which
            # PostgreSQL text (the log's click id) cannot hold. Checked only when it is used:
            # a stale cookie must not spoil a pixel that names its click.
            check_param("ct_click cookie", hit.cookie_click_id)
            click_id = hit.cookie_click_id
        return Ready(hit, workspace, _report(params, click_id, workspace, hit))
    except IngestionError as exc:
        return Refused(hit, _refused(exc, workspace, click_id))


def prepare_known(workspace: WorkspaceRules, hit: Hit) -> Prepared:
    """Validate a hit whose workspace comes from its sender's credential, not a secret in the
    URL: a row of a file an admin uploaded. Where it came from was checked when the file was
    taken, so only the report's own rules remain; they are a postback's."""
    click_id: str | None = None
    try:
        params = _params(hit)
        click_id = pick(params, CLICK_ID)
        return Ready(hit, workspace, _report(params, click_id, workspace, hit))
    except IngestionError as exc:
        return Refused(hit, _refused(exc, workspace, click_id))


async def apply(conn: asyncpg.Connection, batch: Sequence[Prepared]) -> list[Outcome]:
    """Apply prepared hits in order and log each; the caller's transaction commits it all.

    The statements are set-based (one click lookup, one insert of new events, one log insert
    for the whole batch), so a batch costs the database about what one hit did. A dedup key's
    first hit in the batch within its click's attribution window is inserted; every other hit
    takes the repeat path one by one, in arrival order, which gives the same outcomes as one hit
    at a time.
    """
    outcomes = {i: p.outcome for i, p in enumerate(batch) if isinstance(p, Refused)}
    ready = {i: p for i, p in enumerate(batch) if isinstance(p, Ready)}
    clicks = await repository.find_clicks(conn, [p.click_key for p in ready.values()])
    rates = _Rates(conn)
    events: dict[int, NewEvent] = {}
    for i, p in ready.items():
        try:
            events[i] = await _event(rates, p, clicks.get(p.click_key))
        except IngestionError as exc:
            outcomes[i] = _refused(exc, p.workspace, p.report.click_id)
    # Beyond its window an event is not inserted, but it may still repeat a stored one.
    first_of_key: dict[EventKey, int] = {}
    for i, event in events.items():
        if event.within_window:
            first_of_key.setdefault(event.key, i)
    inserted = await repository.insert_events(conn, [events[i] for i in first_of_key.values()])
    changes = EventChanges()
    forwards: list[NewForward] = []
    for i, event in events.items():
        p = ready[i]
        if first_of_key.get(event.key) == i and event.key in inserted:
            event_id = inserted[event.key]
            outcomes[i] = _done(HitOutcome.ACCEPTED, p, event_id)
            _count(changes, 1, event, event.received_at, event.status, event.amount, event.cost)
            _forward(forwards, p, event, event_id, event.status, event.amount, event.txid)
            continue
        try:
            outcomes[i] = await _repeat(conn, p, event, changes, forwards)
        except IngestionError as exc:
            outcomes[i] = _refused(exc, p.workspace, p.report.click_id)
    if changes.sums:
        await lock_shared(conn, changes.workspaces())
        await changes.write(conn)
    await repository.insert_forwards(conn, forwards)
    ordered = [outcomes[i] for i in range(len(batch))]
    await repository.log_hits(conn, [(p.hit, o) for p, o in zip(batch, ordered, strict=True)])
    return ordered


def _count(
    changes: EventChanges,
    sign: int,
    event: NewEvent,
    created_at: datetime,
    status: ConversionStatus,
    amount: Decimal,
    cost: Decimal,
) -> None:
    """Count an event in (+1) or out (-1, as it was before an update) of the rollups."""
    changes.add(
        sign,
        workspace_id=event.workspace_id,
        click_created_at=event.click_created_at,
        created_at=created_at,
        dimensions=event.click_dimensions,
        type_id=event.type_id,
        status=status,
        amount=amount,
        cost=cost,
    )


def _forward(
    forwards: list[NewForward],
    ready: Ready,
    event: NewEvent,
    event_id: int,
    status: ConversionStatus,
    amount: Decimal,
    txid: str,
) -> None:
    """Queue the outbox row of a stored event or status change, when a template sends it."""
    if event.traffic_source_id is None:
        return
    rule = ready.workspace.forwarding.get((event.traffic_source_id, event.type_id))
    if rule is not None and status in rule.statuses:
        forwards.append(NewForward(event, rule.template_id, event_id, status, amount, txid))


def _refused(
    exc: IngestionError, workspace: WorkspaceRules | None, click_id: str | None
) -> Outcome:
    return Outcome(
        outcome=HitOutcome.REJECTED,
        reason=exc.code,
        detail=exc.detail,
        http_status=exc.status_code,
        workspace_id=workspace.id if workspace else None,
        click_id=click_id,
    )


async def _workspace(directory: WorkspaceDirectory, hit: Hit) -> WorkspaceRules:
    # Anything not shaped like an issued secret (a NUL byte, say) never reaches the database.
    workspace = (
        await directory.get(hit.secret) if POSTBACK_SECRET_SHAPE.fullmatch(hit.secret) else None
    )
    if workspace is None:
        raise IngestionError(
            "bad_secret", "the postback secret in the URL matches no workspace", status_code=403
        )
    return workspace


def _admit(workspace: WorkspaceRules, hit: Hit) -> None:
    """The workspace's checks of where a hit comes from and how it is sent."""
    # Before the signature, which covers the body that was left unread.
    if hit.body_too_large:
        raise IngestionError(
            "body_too_large",
            f"the body is longer than {MAX_BODY_BYTES} bytes, the most a postback may send",
            status_code=413,
        )
    if hit.kind is HitKind.POSTBACK:
        _check_source(workspace, hit)
    elif workspace.ip_allowlist or workspace.signing_secret:
        # A pixel comes from a visitor's browser, which is on no allowlist and cannot sign,
        # and its secret is in the advertiser's page: anyone could forge events with it.
        raise IngestionError(
            "pixel_not_allowed",
            "this workspace takes events only from allowlisted or signed S2S postbacks; pixels, "
            "which any browser can send, are refused",
            status_code=403,
        )


def _check_source(workspace: WorkspaceRules, hit: Hit) -> None:
    if workspace.ip_allowlist and not any(
        hit.source_ip is not None and hit.source_ip in network for network in workspace.ip_allowlist
    ):
        raise IngestionError(
            "ip_not_allowed",
            f"{hit.source_ip} is not on this workspace's postback IP allowlist",
            status_code=403,
        )
    if workspace.signing_secret:
        # Only one of them is signed, so parameters may not come from the other.
        if hit.body and hit.query:
            raise IngestionError(
                "unsigned_query",
                "a signed POST must carry its parameters in the body only: the signature "
                "covers the body, not the query string",
            )
        payload = hit.body or hit.query
        signature.verify(workspace.signing_secret, hit.signature, payload, hit.received_at)


def _params(hit: Hit) -> dict[str, str]:
    params = parse_params(hit.query)
    if hit.body:
        for name, value in _body_params(hit).items():
            if params.get(name, value) != value:
                raise IngestionError(
                    "ambiguous_parameter",
                    f"parameter {name!r} differs between the query string and the body",
                )
            params[name] = value
        if len(params) > MAX_PARAMS:
            raise IngestionError("bad_parameters", f"more than {MAX_PARAMS} parameters")
    return params


def _body_params(hit: Hit) -> dict[str, str]:
    assert hit.body is not None
    media_type = (hit.content_type or "").split(";")[0].strip().lower()
    if media_type in ("", "application/x-www-form-urlencoded"):
        return parse_params(hit.body)
    if media_type == "application/json":
        try:
            # Numbers as written, so an amount meets the same rule as in a query string.
            return single_values(flat_pairs(hit.body))
        except BodyError as exc:
            raise IngestionError(
                "bad_parameters", f"body is not a flat JSON object of strings and numbers: {exc}"
            ) from None
    raise IngestionError(
        "unsupported_media_type",
        "send parameters as application/x-www-form-urlencoded, application/json or in the URL",
        status_code=415,
    )


def _report(
    params: dict[str, str], click_id: str | None, workspace: WorkspaceRules, hit: Hit
) -> Report:
    # Malformed values are refused (400) before the click is looked at (404).
    txid = pick(params, TXID) or ""
    if len(txid) > MAX_TXID_LENGTH:
        raise IngestionError("bad_txid", f"txid is longer than {MAX_TXID_LENGTH} characters")
    currency = pick(params, CURRENCY)
    if currency is not None and not _CURRENCY.fullmatch(currency):
        raise IngestionError("bad_currency", f"currency {currency!r} is not an ISO 4217 code")
    status = _status(pick(params, STATUS), workspace)
    amount = _amount(pick(params, AMOUNT))
    type_name = (pick(params, TYPE) or DEFAULT_CONVERSION_TYPE).lower()
    if not click_id:
        raise IngestionError(
            "missing_click_id", f"send the click id as one of: {', '.join(CLICK_ID)}"
        )
    created_at = click_time(click_id)
    if created_at is None:
        raise IngestionError(
            "unknown_click", f"{click_id[:64]!r} is not a clicktrail click id", status_code=404
        )
    # A postback happens when it arrives; a row of a file says when it happened.
    occurred_at = _occurred_at(pick(params, CONVERSION_TIME), created_at, hit)
    return Report(
        click_id=click_id.lower(),
        click_created_at=created_at,
        type_name=type_name,
        txid=txid,
        status=status,
        amount=amount,
        currency=currency.upper() if currency else None,
        params=params,
        occurred_at=occurred_at,
    )


def _occurred_at(value: str | None, click_at: datetime, hit: Hit) -> datetime | None:
    if hit.kind is not HitKind.UPLOAD or value is None:
        return None
    at = _time(value)
    # Files give seconds; the click time has milliseconds.
    if at < click_at.replace(microsecond=0):
        raise IngestionError(
            "bad_time", f"conversion time {value!r} is before the click ({click_at.isoformat()})"
        )
    if at > hit.received_at + MAX_CLOCK_SKEW:
        raise IngestionError(
            "bad_time", f"conversion time {value!r} is after the file was received"
        )
    return at


def _time(value: str) -> datetime:
    try:
        if UNIX_SECONDS.fullmatch(value):
            return datetime.fromtimestamp(int(value), UTC)
        at = datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError):
        at = None
    if at is None or at.tzinfo is None:
        raise IngestionError(
            "bad_time",
            f"conversion time {value[:64]!r} is not an ISO 8601 time with its offset "
            "(2026-12-01T14:30:00Z, 2026-12-01 15:30:00+01:00) or Unix seconds",
        )
    return at


def _status(value: str | None, workspace: WorkspaceRules) -> ConversionStatus | None:
    if value is None:
        return None
    word = workspace.status_aliases.get(value.lower(), value.lower())
    try:
        return ConversionStatus(word)
    except ValueError:
        known = ", ".join(s.value for s in ConversionStatus)
        raise IngestionError(
            "bad_status",
            f"status {value!r} is not one of {known} (map a network's own words in the "
            "workspace's status aliases)",
        ) from None


def _amount(value: str | None) -> Decimal | None:
    if value is None:
        return None
    if not AMOUNT_SYNTAX.fullmatch(value):
        raise IngestionError(
            "bad_amount",
            f"amount {value[:64]!r} is not a plain decimal number such as 12 or 4.99",
        )
    amount = Decimal(value)
    return _stored_amount(amount, f"amount {value[:64]!r} must be >= 0 and < 1e12")


def _stored_amount(amount: Decimal, refusal: str) -> Decimal:
    """``amount`` in the column's millionths, or a permanent bad_amount when the column (below
    10^12) cannot hold it, also once rounded: a retry could never store it."""
    # Compared before rounding too: Decimal's 28 digits cannot round a value far past it.
    if amount >= MAX_AMOUNT or (rounded := amount.quantize(_MICRO)) >= MAX_AMOUNT:
        raise IngestionError("bad_amount", refusal)
    return rounded


async def _event(rates: "_Rates", ready: Ready, click: ClickFacts | None) -> NewEvent:
    """The event a report asks for, or the reason it is refused."""
    workspace, report, hit = ready.workspace, ready.report, ready.hit
    if click is None:
        raise IngestionError(
            "unknown_click", f"no click {report.click_id!r} in this workspace", status_code=404
        )
    rule = workspace.types.get(report.type_name)
    if rule is None:
        raise IngestionError(
            "unknown_type",
            f"conversion type {report.type_name!r} is not defined in this workspace "
            f"(known: {', '.join(sorted(workspace.types))})",
            status_code=422,
        )
    original_amount, original_currency = report.amount, report.currency
    if original_amount is None and rule.counts_as_conversion and click.offer_payout is not None:
        # The offer's default payout, for networks that do not send one.
        original_amount, original_currency = click.offer_payout, click.offer_currency
    at = report.occurred_at or hit.received_at
    amount = await _in_workspace_currency(rates, workspace, original_amount, original_currency, at)
    return NewEvent(
        workspace_id=workspace.id,
        click_created_at=report.click_created_at,
        click_id=report.click_id,
        traffic_source_id=click.traffic_source_id,
        type_id=rule.id,
        duplicate_policy=rule.duplicate_policy,
        txid=report.txid,
        dedup_txid=dedup_txid(rule.duplicate_policy, report.txid),
        status=report.status or ConversionStatus.APPROVED,
        amount=amount,
        original_amount=original_amount,
        original_currency=original_currency or workspace.currency,
        received_at=at,
        params=report.params,
        cost_terms=EventCost(
            model=click.cost_model,
            value=click.cost_value,
            counts_as_conversion=rule.counts_as_conversion,
            counts_in_revenue=rule.counts_in_revenue,
        ),
        attribution_window_days=click.attribution_window_days,
        click_dimensions=click.dimensions,
    )


async def _repeat(
    conn: asyncpg.Connection,
    ready: Ready,
    event: NewEvent,
    changes: EventChanges,
    forwards: list[NewForward],
) -> Outcome:
    """A postback whose dedup key exists: a status change, the type's policy, or a duplicate.

    A key that does not exist was not inserted because the click is outside its window. A
    status change is queued for forwarding (an amount change alone is not).
    """
    report = ready.report
    stored = await repository.lock_event(conn, event)
    if stored is None:
        raise _outside_window(event)
    status = stored.status
    if report.status is not None and report.status != stored.status:
        if not status_change_allowed(stored.status, report.status):
            raise IngestionError(
                "illegal_status_change",
                f"status cannot change from {stored.status.value} to {report.status.value}",
                status_code=409,
            )
        status = report.status
    new_amount, new_original, txid = stored.amount, stored.original_amount, stored.txid
    added_txids = stored.added_txids
    policy = event.duplicate_policy
    if report.amount is not None and policy is DuplicatePolicy.UPDATE:
        new_amount, new_original, txid = event.amount, event.original_amount, report.txid
    elif (
        report.amount is not None
        and policy is DuplicatePolicy.ADD_AMOUNT
        # A retry of any addition carries its txid again: add once. The last txid also covers
        # events recorded before added_txids was kept.
        and not (report.txid and (report.txid == stored.txid or report.txid in stored.added_txids))
    ):
        refusal = "this addition would take the event's amount to 1e12 or more"
        new_amount = _stored_amount(stored.amount + event.amount, refusal)
        new_original = _stored_amount(
            (stored.original_amount or Decimal(0)) + (event.original_amount or Decimal(0)),
            refusal,
        )
        txid = report.txid
        if report.txid:
            added_txids = [*stored.added_txids, report.txid]
    if (status, new_amount) == (stored.status, stored.amount):
        return _done(HitOutcome.DUPLICATE, ready, stored.id)
    if new_amount != stored.amount and not event.within_window:
        # Money added or changed this late is new revenue in all but name: only a status
        # change (a chargeback, an approval) passes the window.
        raise _outside_window(event, ": its events may change status, not amount")
    # A new amount costs what the campaign's terms say now; a status change alone keeps the
    # cost the event was recorded with.
    cost = stored.cost if new_amount == stored.amount else event.cost_terms.of(new_amount)
    await repository.update_event(
        conn,
        event,
        event_id=stored.id,
        status=status,
        amount=new_amount,
        original_amount=new_original,
        txid=txid,
        added_txids=added_txids,
        cost=cost,
    )
    _count(changes, -1, event, stored.created_at, stored.status, stored.amount, stored.cost)
    _count(changes, 1, event, stored.created_at, status, new_amount, cost)
    if status != stored.status:
        _forward(forwards, ready, event, stored.id, status, new_amount, txid)
    return _done(HitOutcome.UPDATED, ready, stored.id)


def _outside_window(event: NewEvent, more: str = "") -> IngestionError:
    return IngestionError(
        "outside_window",
        f"the click is older than the campaign's {event.attribution_window_days}-day "
        f"attribution window{more}",
        status_code=422,
    )


class _Rates:
    """Currency rates looked up once per span they hold for, within one group of hits: a
    file's rows in one currency and day need one look-up, not one each."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._spans: dict[tuple[int, str], list[RateSpan]] = {}

    async def at(self, workspace_id: int, currency: str, at: datetime) -> Decimal | None:
        spans = self._spans.setdefault((workspace_id, currency), [])
        for span in spans:
            if span.covers(at):
                return span.rate
        found = await repository.currency_rate(self._conn, workspace_id, currency, at)
        if found is None:
            return None
        spans.append(found)
        return found.rate


async def _in_workspace_currency(
    rates: _Rates,
    workspace: WorkspaceRules,
    amount: Decimal | None,
    currency: str | None,
    at: datetime,
) -> Decimal:
    if amount is None:
        return Decimal(0)
    if currency is None or currency == workspace.currency:
        return amount
    rate = await rates.at(workspace.id, currency, at)
    if rate is None:
        raise IngestionError(
            "unknown_currency",
            f"no {currency} -> {workspace.currency} rate is stored for this workspace",
            status_code=422,
        )
    return _stored_amount(
        amount * rate,
        f"{amount} {currency} at the stored rate of {rate} is {workspace.currency} "
        f"{amount * rate:.6f}: an event's amount must be below 1e12",
    )


def _done(outcome: HitOutcome, ready: Ready, event_id: int) -> Outcome:
    return Outcome(
        outcome=outcome,
        reason=outcome.value,
        detail=f"{ready.report.type_name} for click {ready.report.click_id}",
        http_status=200,
        workspace_id=ready.workspace.id,
        click_id=ready.report.click_id,
        event_id=event_id,
    )
