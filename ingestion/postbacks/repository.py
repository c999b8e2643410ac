"""SQL of the postback path."""

import json
from datetime import datetime
from decimal import Decimal
from ipaddress import ip_network

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ingestion.postbacks.records import (
    ClickFacts,
    Hit,
    Outcome,
    Report,
    StoredEvent,
    TypeRule,
    WorkspaceRules,
)
from models.enums import ConversionStatus, DuplicatePolicy
from models.postback_log import UNKNOWN_WORKSPACE_ID

# Longest raw query or body kept in the log (the limits refuse longer ones anyway).
LOG_TEXT_LIMIT = 16 * 1024


async def find_workspace(session: AsyncSession, secret: str) -> WorkspaceRules | None:
    row = (
        await session.execute(
            text(
                """
                SELECT w.id, w.currency, w.ip_allowlist::text[] AS allowlist, w.signing_secret,
                       w.status_aliases
                FROM postback_secrets s JOIN workspaces w ON w.id = s.workspace_id
                WHERE s.secret = :secret AND (s.expires_at IS NULL OR s.expires_at > now())
                LIMIT 1
                """
            ),
            {"secret": secret},
        )
    ).one_or_none()
    if row is None:
        return None
    types = (
        await session.execute(
            text(
                "SELECT id, name, counts_as_conversion, duplicate_policy "
                "FROM conversion_types WHERE workspace_id = :workspace_id"
            ),
            {"workspace_id": row.id},
        )
    ).all()
    return WorkspaceRules(
        id=row.id,
        currency=row.currency,
        ip_allowlist=tuple(ip_network(cidr) for cidr in row.allowlist),
        signing_secret=row.signing_secret,
        status_aliases={str(k).lower(): str(v) for k, v in row.status_aliases.items()},
        types={
            t.name: TypeRule(
                id=t.id,
                counts_as_conversion=t.counts_as_conversion,
                duplicate_policy=DuplicatePolicy(t.duplicate_policy),
            )
            for t in types
        },
    )


async def find_click(
    session: AsyncSession, workspace_id: int, created_at: datetime, click_id: str
) -> ClickFacts | None:
    row = (
        await session.execute(
            text(
                """
                SELECT k.created_at, c.attribution_window_days, o.payout, o.currency
                FROM clicks k
                JOIN campaigns c ON c.workspace_id = k.workspace_id AND c.id = k.campaign_id
                LEFT JOIN offers o ON o.workspace_id = k.workspace_id AND o.id = k.offer_id
                WHERE k.workspace_id = :workspace_id AND k.created_at = :created_at
                  AND k.id = :click_id
                """
            ),
            {"workspace_id": workspace_id, "created_at": created_at, "click_id": click_id},
        )
    ).one_or_none()
    if row is None:
        return None
    return ClickFacts(
        created_at=row.created_at,
        attribution_window_days=row.attribution_window_days,
        offer_payout=row.payout,
        offer_currency=row.currency,
    )


async def currency_rate(
    session: AsyncSession, workspace_id: int, currency: str, at: datetime
) -> Decimal | None:
    rate: Decimal | None = await session.scalar(
        text(
            "SELECT rate FROM currency_rates WHERE workspace_id = :workspace_id "
            "AND currency = :currency AND valid_from <= :at ORDER BY valid_from DESC LIMIT 1"
        ),
        {"workspace_id": workspace_id, "currency": currency, "at": at},
    )
    return rate


async def insert_event(
    session: AsyncSession,
    *,
    workspace_id: int,
    report: Report,
    type_id: int,
    dedup_txid: str,
    status: ConversionStatus,
    amount: Decimal,
    original_amount: Decimal | None,
    original_currency: str | None,
    received_at: datetime,
) -> int | None:
    """Insert the event unless its dedup key exists; the new id, or None for a repeat."""
    event_id: int | None = await session.scalar(
        text(
            """
            INSERT INTO conversion_events (
                workspace_id, click_created_at, click_id, type_id, txid, dedup_txid, status,
                amount, original_amount, original_currency, created_at, updated_at, params)
            VALUES (:workspace_id, :click_created_at, :click_id, :type_id, :txid, :dedup_txid,
                    :status, :amount, :original_amount, :original_currency, :received_at,
                    :received_at, CAST(:params AS jsonb))
            ON CONFLICT (workspace_id, click_created_at, click_id, type_id, dedup_txid)
            DO NOTHING
            RETURNING id
            """
        ),
        {
            "workspace_id": workspace_id,
            "click_created_at": report.click_created_at,
            "click_id": report.click_id,
            "type_id": type_id,
            "txid": report.txid,
            "dedup_txid": dedup_txid,
            "status": status.value,
            "amount": amount,
            "original_amount": original_amount,
            "original_currency": original_currency,
            "received_at": received_at,
            "params": json.dumps(report.params, ensure_ascii=False),
        },
    )
    return event_id


async def lock_event(
    session: AsyncSession, *, workspace_id: int, report: Report, type_id: int, dedup_txid: str
) -> StoredEvent:
    """The stored event with this dedup key, locked until the transaction ends."""
    row = (
        await session.execute(
            text(
                """
                SELECT id, status, amount, original_amount, txid FROM conversion_events
                WHERE workspace_id = :workspace_id AND click_created_at = :click_created_at
                  AND click_id = :click_id AND type_id = :type_id AND dedup_txid = :dedup_txid
                FOR UPDATE
                """
            ),
            {
                "workspace_id": workspace_id,
                "click_created_at": report.click_created_at,
                "click_id": report.click_id,
                "type_id": type_id,
                "dedup_txid": dedup_txid,
            },
        )
    ).one()
    return StoredEvent(
        id=row.id,
        status=ConversionStatus(row.status),
        amount=row.amount,
        original_amount=row.original_amount,
        txid=row.txid,
    )


async def update_event(
    session: AsyncSession,
    *,
    workspace_id: int,
    click_created_at: datetime,
    event_id: int,
    status: ConversionStatus,
    amount: Decimal,
    original_amount: Decimal | None,
    txid: str,
    at: datetime,
) -> None:
    await session.execute(
        text(
            """
            UPDATE conversion_events
            SET status = :status, amount = :amount, original_amount = :original_amount,
                txid = :txid, updated_at = :at
            WHERE workspace_id = :workspace_id AND click_created_at = :click_created_at
              AND id = :event_id
            """
        ),
        {
            "status": status.value,
            "amount": amount,
            "original_amount": original_amount,
            "txid": txid,
            "at": at,
            "workspace_id": workspace_id,
            "click_created_at": click_created_at,
            "event_id": event_id,
        },
    )


async def log_hit(session: AsyncSession, hit: Hit, outcome: Outcome) -> None:
    await session.execute(
        text(
            """
            INSERT INTO postback_log (workspace_id, received_at, kind, method, source_ip, query,
                                      body, click_id, conversion_event_id, outcome, reason,
                                      http_status)
            VALUES (:workspace_id, :received_at, :kind, :method, CAST(:source_ip AS inet), :query,
                    :body, :click_id, :event_id, :outcome, :reason, :http_status)
            """
        ),
        {
            "workspace_id": outcome.workspace_id or UNKNOWN_WORKSPACE_ID,
            "received_at": hit.received_at,
            "kind": hit.kind.value,
            "method": hit.method,
            "source_ip": str(hit.source_ip) if hit.source_ip else None,
            "query": _loggable(hit.query) or "",
            "body": _loggable(hit.body),
            "click_id": outcome.click_id[:64] if outcome.click_id else None,
            "event_id": outcome.event_id,
            "outcome": outcome.outcome.value,
            "reason": outcome.reason,
            "http_status": outcome.http_status,
        },
    )


def _loggable(raw: bytes | None) -> str | None:
    """Raw bytes as text PostgreSQL accepts: invalid UTF-8 escaped, NUL spelled out."""
    if raw is None:
        return None
    return raw[:LOG_TEXT_LIMIT].decode("utf-8", "backslashreplace").replace("\x00", "\\x00")
