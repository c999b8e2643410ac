"""SQL of the postback path, on a raw asyncpg connection.

The ORM session costs several times the CPU of the statements themselves here, and postbacks
are the second-hottest path; every value still travels as a bound parameter.
"""

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from ipaddress import ip_network

import asyncpg
import msgspec

from ingestion.postbacks.records import (
    ClickFacts,
    ClickKey,
    EventKey,
    Hit,
    NewEvent,
    Outcome,
    StoredEvent,
    TypeRule,
    WorkspaceRules,
)
from models.enums import ConversionStatus, CostModel, DuplicatePolicy
from models.postback_log import UNKNOWN_WORKSPACE_ID

# Longest raw query or body kept in the log (the limits refuse longer ones anyway).
LOG_TEXT_LIMIT = 16 * 1024


async def find_workspace(conn: asyncpg.Connection, secret: str) -> WorkspaceRules | None:
    # The directory first, then the workspace by its id: each one row by its key (on Citus, a
    # reference table and one shard).
    workspace_id = await conn.fetchval(
        "SELECT workspace_id FROM postback_secrets "
        "WHERE secret = $1 AND (expires_at IS NULL OR expires_at > now())",
        secret,
    )
    if workspace_id is None:
        return None
    row = await conn.fetchrow(
        """
        SELECT w.id, w.currency, w.ip_allowlist::text[] AS allowlist, w.signing_secret,
               w.status_aliases::text AS status_aliases
        FROM workspaces w WHERE w.id = $1
        """,
        workspace_id,
    )
    if row is None:
        return None
    types = await conn.fetch(
        "SELECT id, name, counts_as_conversion, counts_in_revenue, duplicate_policy "
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
                counts_in_revenue=t["counts_in_revenue"],
                duplicate_policy=DuplicatePolicy(t["duplicate_policy"]),
            )
            for t in types
        },
    )


async def find_clicks(
    conn: asyncpg.Connection, keys: Sequence[ClickKey]
) -> dict[ClickKey, ClickFacts]:
    """The clicks of these keys that exist, with what a postback needs of their campaign."""
    if not keys:
        return {}
    rows = await conn.fetch(
        """
        SELECT q.workspace_id, q.created_at, q.id, c.attribution_window_days,
               c.cost_model, c.cost_value, o.payout, o.currency
        FROM jsonb_to_recordset($1::jsonb)
            AS q(workspace_id bigint, created_at timestamptz, id text)
        JOIN clicks k
          ON k.workspace_id = q.workspace_id AND k.created_at = q.created_at AND k.id = q.id
        JOIN campaigns c ON c.workspace_id = k.workspace_id AND c.id = k.campaign_id
        LEFT JOIN offers o ON o.workspace_id = k.workspace_id AND o.id = k.offer_id
        """,
        _records(
            {"workspace_id": workspace_id, "created_at": created_at, "id": click_id}
            for workspace_id, created_at, click_id in keys
        ),
    )
    return {
        (r["workspace_id"], r["created_at"], r["id"]): ClickFacts(
            created_at=r["created_at"],
            attribution_window_days=r["attribution_window_days"],
            offer_payout=r["payout"],
            offer_currency=r["currency"],
            cost_model=CostModel(r["cost_model"]),
            cost_value=r["cost_value"],
        )
        for r in rows
    }


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


async def insert_events(
    conn: asyncpg.Connection, events: Sequence[NewEvent]
) -> dict[EventKey, int]:
    """Insert the events whose dedup keys do not exist yet; their ids by key.

    Rows go in key order, so two batches that share keys wait on each other in the same order
    instead of deadlocking.
    """
    if not events:
        return {}
    rows = await conn.fetch(
        """
        INSERT INTO conversion_events (
            workspace_id, click_created_at, click_id, type_id, txid, dedup_txid, added_txids,
            status, amount, original_amount, original_currency, cost, created_at, updated_at,
            params)
        SELECT workspace_id, click_created_at, click_id, type_id, txid, dedup_txid, added_txids,
               status, amount, original_amount, original_currency, cost, created_at, created_at,
               params
        FROM jsonb_to_recordset($1::jsonb) AS e(
            workspace_id bigint, click_created_at timestamptz, click_id text, type_id bigint,
            txid text, dedup_txid text, added_txids text[], status text, amount numeric,
            original_amount numeric, original_currency text, cost numeric,
            created_at timestamptz, params jsonb)
        ORDER BY workspace_id, click_created_at, click_id, type_id, dedup_txid
        ON CONFLICT (workspace_id, click_created_at, click_id, type_id, dedup_txid) DO NOTHING
        RETURNING id, workspace_id, click_created_at, click_id, type_id, dedup_txid
        """,
        _records(
            {
                "workspace_id": e.workspace_id,
                "click_created_at": e.click_created_at,
                "click_id": e.click_id,
                "type_id": e.type_id,
                "txid": e.txid,
                "dedup_txid": e.dedup_txid,
                "added_txids": e.added_txids,
                "status": e.status.value,
                "amount": e.amount,
                "original_amount": e.original_amount,
                "original_currency": e.original_currency,
                "cost": e.cost,
                "created_at": e.received_at,
                "params": e.params,
            }
            for e in events
        ),
    )
    return {
        (r["workspace_id"], r["click_created_at"], r["click_id"], r["type_id"], r["dedup_txid"]): r[
            "id"
        ]
        for r in rows
    }


async def lock_event(conn: asyncpg.Connection, event: NewEvent) -> StoredEvent | None:
    """The stored event with this event's dedup key, if any, locked until the transaction ends."""
    row = await conn.fetchrow(
        """
        SELECT id, status, amount, original_amount, txid, added_txids, cost
        FROM conversion_events
        WHERE workspace_id = $1 AND click_created_at = $2 AND click_id = $3
          AND type_id = $4 AND dedup_txid = $5
        FOR UPDATE
        """,
        *event.key,
    )
    if row is None:
        return None
    return StoredEvent(
        id=row["id"],
        status=ConversionStatus(row["status"]),
        amount=row["amount"],
        original_amount=row["original_amount"],
        txid=row["txid"],
        added_txids=row["added_txids"],
        cost=row["cost"],
    )


async def update_event(
    conn: asyncpg.Connection,
    event: NewEvent,
    *,
    event_id: int,
    status: ConversionStatus,
    amount: Decimal,
    original_amount: Decimal | None,
    txid: str,
    added_txids: list[str],
    cost: Decimal,
) -> None:
    await conn.execute(
        """
        UPDATE conversion_events
        SET status = $1, amount = $2, original_amount = $3, txid = $4, added_txids = $5,
            cost = $6, updated_at = $7
        WHERE workspace_id = $8 AND click_created_at = $9 AND id = $10
        """,
        status.value,
        amount,
        original_amount,
        txid,
        added_txids,
        cost,
        event.received_at,
        event.workspace_id,
        event.click_created_at,
        event_id,
    )


async def log_hits(conn: asyncpg.Connection, hits: Sequence[tuple[Hit, Outcome]]) -> None:
    await conn.execute(
        """
        INSERT INTO postback_log (workspace_id, received_at, kind, method, source_ip, query,
                                  body, click_id, conversion_event_id, outcome, reason,
                                  http_status)
        SELECT * FROM jsonb_to_recordset($1::jsonb) AS h(
            workspace_id bigint, received_at timestamptz, kind text, method text, source_ip inet,
            query text, body text, click_id text, conversion_event_id bigint, outcome text,
            reason text, http_status int)
        """,
        _records(
            {
                "workspace_id": outcome.workspace_id or UNKNOWN_WORKSPACE_ID,
                "received_at": hit.received_at,
                "kind": hit.kind.value,
                "method": hit.method,
                "source_ip": str(hit.source_ip) if hit.source_ip else None,
                "query": _loggable(hit.query) or "",
                "body": _loggable(hit.body),
                "click_id": outcome.click_id[:64] if outcome.click_id else None,
                "conversion_event_id": outcome.event_id,
                "outcome": outcome.outcome.value,
                "reason": outcome.reason,
                "http_status": outcome.http_status,
            }
            for hit, outcome in hits
        ),
    )


def _records(rows: Iterable[dict[str, object]]) -> str:
    """Rows as one JSON array for jsonb_to_recordset: one parameter whatever the group's size,
    and far cheaper for the driver to encode than a typed array per column."""
    return msgspec.json.encode(list(rows)).decode()


def _loggable(raw: bytes | None) -> str | None:
    """Raw bytes as text PostgreSQL accepts: invalid UTF-8 escaped, NUL spelled out."""
    if raw is None:
        return None
    return raw[:LOG_TEXT_LIMIT].decode("utf-8", "backslashreplace").replace("\x00", "\\x00")
