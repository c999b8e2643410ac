"""SQL of the postback path, on a raw asyncpg connection.

The ORM session costs several times the CPU of the statements themselves here, and postbacks
are the second-hottest path; every value still travels as a bound parameter.
"""

import json
from datetime import datetime
from decimal import Decimal
from ipaddress import ip_network

import asyncpg

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


async def find_workspace(conn: asyncpg.Connection, secret: str) -> WorkspaceRules | None:
    row = await conn.fetchrow(
        """
        SELECT w.id, w.currency, w.ip_allowlist::text[] AS allowlist, w.signing_secret,
               w.status_aliases::text AS status_aliases
        FROM postback_secrets s JOIN workspaces w ON w.id = s.workspace_id
        WHERE s.secret = $1 AND (s.expires_at IS NULL OR s.expires_at > now())
        LIMIT 1
        """,
        secret,
    )
    if row is None:
        return None
    types = await conn.fetch(
        "SELECT id, name, counts_as_conversion, duplicate_policy "
        "FROM conversion_types WHERE workspace_id = $1",
        row["id"],
    )
    aliases: dict[str, object] = json.loads(row["status_aliases"])
    return WorkspaceRules(
        id=row["id"],
        currency=row["currency"],
        ip_allowlist=tuple(ip_network(cidr) for cidr in row["allowlist"]),
        signing_secret=row["signing_secret"],
        status_aliases={str(k).lower(): str(v) for k, v in aliases.items()},
        types={
            t["name"]: TypeRule(
                id=t["id"],
                counts_as_conversion=t["counts_as_conversion"],
                duplicate_policy=DuplicatePolicy(t["duplicate_policy"]),
            )
            for t in types
        },
    )


async def find_click(
    conn: asyncpg.Connection, workspace_id: int, created_at: datetime, click_id: str
) -> ClickFacts | None:
    row = await conn.fetchrow(
        """
        SELECT k.created_at, c.attribution_window_days, o.payout, o.currency
        FROM clicks k
        JOIN campaigns c ON c.workspace_id = k.workspace_id AND c.id = k.campaign_id
        LEFT JOIN offers o ON o.workspace_id = k.workspace_id AND o.id = k.offer_id
        WHERE k.workspace_id = $1 AND k.created_at = $2 AND k.id = $3
        """,
        workspace_id,
        created_at,
        click_id,
    )
    if row is None:
        return None
    return ClickFacts(
        created_at=row["created_at"],
        attribution_window_days=row["attribution_window_days"],
        offer_payout=row["payout"],
        offer_currency=row["currency"],
    )


async def currency_rate(
    conn: asyncpg.Connection, workspace_id: int, currency: str, at: datetime
) -> Decimal | None:
    rate: Decimal | None = await conn.fetchval(
        "SELECT rate FROM currency_rates WHERE workspace_id = $1 AND currency = $2 "
        "AND valid_from <= $3 ORDER BY valid_from DESC LIMIT 1",
        workspace_id,
        currency,
        at,
    )
    return rate


async def insert_event(
    conn: asyncpg.Connection,
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
    event_id: int | None = await conn.fetchval(
        """
        INSERT INTO conversion_events (
            workspace_id, click_created_at, click_id, type_id, txid, dedup_txid, status,
            amount, original_amount, original_currency, created_at, updated_at, params)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12::jsonb)
        ON CONFLICT (workspace_id, click_created_at, click_id, type_id, dedup_txid) DO NOTHING
        RETURNING id
        """,
        workspace_id,
        report.click_created_at,
        report.click_id,
        type_id,
        report.txid,
        dedup_txid,
        status.value,
        amount,
        original_amount,
        original_currency,
        received_at,
        json.dumps(report.params, ensure_ascii=False),
    )
    return event_id


async def lock_event(
    conn: asyncpg.Connection, *, workspace_id: int, report: Report, type_id: int, dedup_txid: str
) -> StoredEvent:
    """The stored event with this dedup key, locked until the transaction ends."""
    row = await conn.fetchrow(
        """
        SELECT id, status, amount, original_amount, txid FROM conversion_events
        WHERE workspace_id = $1 AND click_created_at = $2 AND click_id = $3
          AND type_id = $4 AND dedup_txid = $5
        FOR UPDATE
        """,
        workspace_id,
        report.click_created_at,
        report.click_id,
        type_id,
        dedup_txid,
    )
    assert row is not None, "called only after ON CONFLICT found the key"
    return StoredEvent(
        id=row["id"],
        status=ConversionStatus(row["status"]),
        amount=row["amount"],
        original_amount=row["original_amount"],
        txid=row["txid"],
    )


async def update_event(
    conn: asyncpg.Connection,
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
    await conn.execute(
        """
        UPDATE conversion_events
        SET status = $1, amount = $2, original_amount = $3, txid = $4, updated_at = $5
        WHERE workspace_id = $6 AND click_created_at = $7 AND id = $8
        """,
        status.value,
        amount,
        original_amount,
        txid,
        at,
        workspace_id,
        click_created_at,
        event_id,
    )


async def log_hit(conn: asyncpg.Connection, hit: Hit, outcome: Outcome) -> None:
    await conn.execute(
        """
        INSERT INTO postback_log (workspace_id, received_at, kind, method, source_ip, query,
                                  body, click_id, conversion_event_id, outcome, reason,
                                  http_status)
        VALUES ($1, $2, $3, $4, $5::inet, $6, $7, $8, $9, $10, $11, $12)
        """,
        outcome.workspace_id or UNKNOWN_WORKSPACE_ID,
        hit.received_at,
        hit.kind.value,
        hit.method,
        str(hit.source_ip) if hit.source_ip else None,
        _loggable(hit.query) or "",
        _loggable(hit.body),
        outcome.click_id[:64] if outcome.click_id else None,
        outcome.event_id,
        outcome.outcome.value,
        outcome.reason,
        outcome.http_status,
    )


def _loggable(raw: bytes | None) -> str | None:
    """Raw bytes as text PostgreSQL accepts: invalid UTF-8 escaped, NUL spelled out."""
    if raw is None:
        return None
    return raw[:LOG_TEXT_LIMIT].decode("utf-8", "backslashreplace").replace("\x00", "\\x00")
