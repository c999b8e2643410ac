"""Recording a postback or pixel hit: authenticate, validate, deduplicate, log.

Every hit ends with one postback log row written in the same transaction as its effect, so an
acknowledged event and its log row are committed together; refusals are values, not
exceptions, so their log rows are committed too.
"""

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation

import asyncpg
import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from ingestion.errors import IngestionError
from ingestion.lookups import LookupCache
from ingestion.params import (
    AMOUNT,
    CLICK_ID,
    CURRENCY,
    MAX_PARAMS,
    MAX_QUERY_BYTES,
    STATUS,
    TXID,
    TYPE,
    check_param,
    parse_params,
    pick,
)
from ingestion.postbacks import repository, signature
from ingestion.postbacks.records import Hit, Outcome, Report, TypeRule, WorkspaceRules
from models.catalog import DEFAULT_CONVERSION_TYPE
from models.click_ids import click_time
from models.conversion_rules import dedup_txid, status_change_allowed
from models.database import driver_connection
from models.enums import ConversionStatus, DuplicatePolicy, HitOutcome

# Settings changes (allowlist, types, secret rotation) reach postbacks within this many seconds.
WORKSPACE_CACHE_SECONDS = 5.0
MAX_TXID_LENGTH = 255
MAX_AMOUNT = Decimal("1e12")
_MICRO = Decimal("0.000001")
_CURRENCY = re.compile(r"[A-Za-z]{3}")


class WorkspaceDirectory(LookupCache[str, WorkspaceRules | None]):
    """Workspace rules by postback secret, cached briefly (misses too) per process."""

    def __init__(self, engine: AsyncEngine) -> None:
        async def load(secret: str) -> WorkspaceRules | None:
            # A connection of its own: the lookup is shared by every request waiting for it.
            async with driver_connection(engine) as conn:
                return await repository.find_workspace(conn, secret)

        super().__init__(load, ttl_s=WORKSPACE_CACHE_SECONDS, size=10_000)


async def record_hit(conn: asyncpg.Connection, directory: WorkspaceDirectory, hit: Hit) -> Outcome:
    """Apply one hit and log it; the caller's transaction commits both."""
    workspace: WorkspaceRules | None = None
    click_id: str | None = None
    try:
        workspace = await _authenticate(directory, hit)
        params = _params(hit)
        click_id = pick(params, CLICK_ID) or hit.cookie_click_id
        report = _report(params, click_id, workspace)
        outcome = await _apply(conn, workspace, report, hit)
    except IngestionError as exc:
        outcome = Outcome(
            outcome=HitOutcome.REJECTED,
            reason=exc.code,
            detail=exc.detail,
            http_status=exc.status_code,
            workspace_id=workspace.id if workspace else None,
            click_id=click_id,
        )
    await repository.log_hit(conn, hit, outcome)
    return outcome


async def _authenticate(directory: WorkspaceDirectory, hit: Hit) -> WorkspaceRules:
    workspace = await directory.get(hit.secret)
    if workspace is None:
        raise IngestionError(
            "bad_secret", "the postback secret in the URL matches no workspace", status_code=403
        )
    if workspace.ip_allowlist and not any(
        hit.source_ip is not None and hit.source_ip in network for network in workspace.ip_allowlist
    ):
        raise IngestionError(
            "ip_not_allowed",
            f"{hit.source_ip} is not on this workspace's postback IP allowlist",
            status_code=403,
        )
    if workspace.signing_secret:
        payload = hit.body if hit.body is not None else hit.query
        signature.verify(workspace.signing_secret, hit.signature, payload, hit.received_at)
    return workspace


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
        if len(hit.body) > MAX_QUERY_BYTES:
            raise IngestionError("bad_parameters", f"body is longer than {MAX_QUERY_BYTES} bytes")
        try:
            decoded = msgspec.json.decode(hit.body, type=dict[str, str | int | float | None])
        except msgspec.DecodeError as exc:
            raise IngestionError(
                "bad_parameters", f"body is not a flat JSON object of strings and numbers: {exc}"
            ) from None
        params = {name: "" if value is None else str(value) for name, value in decoded.items()}
        for name, value in params.items():
            check_param(name, value)
        return params
    raise IngestionError(
        "unsupported_media_type",
        "send parameters as application/x-www-form-urlencoded, application/json or in the URL",
        status_code=415,
    )


def _report(params: dict[str, str], click_id: str | None, workspace: WorkspaceRules) -> Report:
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
    return Report(
        click_id=click_id.lower(),
        click_created_at=created_at,
        type_name=type_name,
        txid=txid,
        status=status,
        amount=amount,
        currency=currency.upper() if currency else None,
        params=params,
    )


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
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise IngestionError("bad_amount", f"amount {value[:64]!r} is not a number") from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_AMOUNT:
        raise IngestionError("bad_amount", f"amount {value[:64]!r} must be >= 0 and < 1e12")
    return amount.quantize(_MICRO)


async def _apply(
    conn: asyncpg.Connection, workspace: WorkspaceRules, report: Report, hit: Hit
) -> Outcome:
    click = await repository.find_click(
        conn, workspace.id, report.click_created_at, report.click_id
    )
    if click is None:
        raise IngestionError(
            "unknown_click", f"no click {report.click_id!r} in this workspace", status_code=404
        )
    if hit.received_at - click.created_at > timedelta(days=click.attribution_window_days):
        raise IngestionError(
            "outside_window",
            f"the click is older than the campaign's {click.attribution_window_days}-day "
            "attribution window",
            status_code=422,
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
    amount = await _in_workspace_currency(conn, workspace, original_amount, original_currency, hit)
    key = dedup_txid(rule.duplicate_policy, report.txid)
    event_id = await repository.insert_event(
        conn,
        workspace_id=workspace.id,
        report=report,
        type_id=rule.id,
        dedup_txid=key,
        status=report.status or ConversionStatus.APPROVED,
        amount=amount,
        original_amount=original_amount,
        original_currency=original_currency or workspace.currency,
        received_at=hit.received_at,
    )
    if event_id is not None:
        return _done(HitOutcome.ACCEPTED, workspace, report, event_id)
    return await _repeat(conn, workspace, report, rule, key, amount, original_amount, hit)


async def _repeat(
    conn: asyncpg.Connection,
    workspace: WorkspaceRules,
    report: Report,
    rule: TypeRule,
    key: str,
    amount: Decimal,
    original_amount: Decimal | None,
    hit: Hit,
) -> Outcome:
    """A postback whose dedup key exists: a status change, the type's policy, or a duplicate."""
    stored = await repository.lock_event(
        conn, workspace_id=workspace.id, report=report, type_id=rule.id, dedup_txid=key
    )
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
    policy = rule.duplicate_policy
    if report.amount is not None and policy is DuplicatePolicy.UPDATE:
        new_amount, new_original, txid = amount, original_amount, report.txid
    elif (
        report.amount is not None
        and policy is DuplicatePolicy.ADD_AMOUNT
        # A retry of the last addition carries its txid again: add once.
        and not (report.txid and report.txid == stored.txid)
    ):
        new_amount = stored.amount + amount
        new_original = (stored.original_amount or Decimal(0)) + (original_amount or Decimal(0))
        txid = report.txid
    if (status, new_amount) == (stored.status, stored.amount):
        return _done(HitOutcome.DUPLICATE, workspace, report, stored.id)
    await repository.update_event(
        conn,
        workspace_id=workspace.id,
        click_created_at=report.click_created_at,
        event_id=stored.id,
        status=status,
        amount=new_amount,
        original_amount=new_original,
        txid=txid,
        at=hit.received_at,
    )
    return _done(HitOutcome.UPDATED, workspace, report, stored.id)


async def _in_workspace_currency(
    conn: asyncpg.Connection,
    workspace: WorkspaceRules,
    amount: Decimal | None,
    currency: str | None,
    hit: Hit,
) -> Decimal:
    if amount is None:
        return Decimal(0)
    if currency is None or currency == workspace.currency:
        return amount
    rate = await repository.currency_rate(conn, workspace.id, currency, hit.received_at)
    if rate is None:
        raise IngestionError(
            "unknown_currency",
            f"no {currency} -> {workspace.currency} rate is stored for this workspace",
            status_code=422,
        )
    return (amount * rate).quantize(_MICRO)


def _done(outcome: HitOutcome, workspace: WorkspaceRules, report: Report, event_id: int) -> Outcome:
    return Outcome(
        outcome=outcome,
        reason=outcome.value,
        detail=f"{report.type_name} for click {report.click_id}",
        http_status=200,
        workspace_id=workspace.id,
        click_id=report.click_id,
        event_id=event_id,
    )
