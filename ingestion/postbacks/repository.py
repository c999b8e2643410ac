"""SQL of the postback path, on a raw asyncpg connection.

The ORM session costs several times the CPU of the statements themselves here, and postbacks
are the second-hottest path; every value still travels as a bound parameter.
"""

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from decimal import Decimal
from ipaddress import ip_network

import asyncpg
import msgspec

from ingestion import multirow
from ingestion.postbacks.records import (
    ClickFacts,
    ClickKey,
    EventKey,
    ForwardRule,
    Hit,
    NewEvent,
    NewForward,
    Outcome,
    RateSpan,
    StoredEvent,
    TypeRule,
    WorkspaceRules,
)
from models import live
from models.database import DATABASE_ERRORS
from models.enums import ConversionStatus, CostModel, DuplicatePolicy, HitOutcome
from models.postback_log import UNKNOWN_WORKSPACE_ID
from models.rollups import DIMENSIONS

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
    return await workspace_rules(conn, workspace_id)


async def workspace_rules(conn: asyncpg.Connection, workspace_id: int) -> WorkspaceRules | None:
    """A workspace's rules by its id (an upload knows it from its credential)."""
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
    templates = await conn.fetch(
        "SELECT id, traffic_source_id, conversion_type_id, statuses FROM forward_templates "
        "WHERE workspace_id = $1 AND enabled",
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
        forwarding={
            (t["traffic_source_id"], t["conversion_type_id"]): ForwardRule(
                template_id=t["id"],
                statuses=frozenset(ConversionStatus(s) for s in t["statuses"]),
            )
            for t in templates
        },
    )


# Routed by workspace on Citus: the click look-up runs once per workspace of a group, pipelined
# in one round trip (asyncpg's fetchmany), events are a multi-row VALUES (ingestion.multirow)
# and log rows a COPY.
# One statement over a JSON array of every workspace's rows went to all shards, or (an INSERT
# ... SELECT from it) through the coordinator.
# Column names from the rollup definitions (traffic_source_id among them).
_CLICKS = f"""
    SELECT k.workspace_id, k.created_at, k.id, c.attribution_window_days,
           c.cost_model, c.cost_value, o.payout, o.currency,
           {", ".join(f"k.{d}" for d in DIMENSIONS)}
    FROM clicks k
    JOIN campaigns c ON c.workspace_id = k.workspace_id AND c.id = k.campaign_id
    LEFT JOIN offers o ON o.workspace_id = k.workspace_id AND o.id = k.offer_id
    WHERE k.workspace_id = $1 AND k.id = ANY($2::text[]) AND k.created_at = ANY($3::timestamptz[])
"""  # noqa: S608


async def find_clicks(
    conn: asyncpg.Connection, keys: Sequence[ClickKey]
) -> dict[ClickKey, ClickFacts]:
    """The clicks of these keys that exist, with what a postback needs of their campaign."""
    if not keys:
        return {}
    by_workspace: dict[int, set[ClickKey]] = {}
    for key in keys:
        by_workspace.setdefault(key[0], set()).add(key)
    rows = await conn.fetchmany(
        _CLICKS,
        [
            (workspace_id, [k[2] for k in group], list({k[1] for k in group}))
            for workspace_id, group in by_workspace.items()
        ],
    )
    return {
        (r["workspace_id"], r["created_at"], r["id"]): ClickFacts(
            created_at=r["created_at"],
            traffic_source_id=r["traffic_source_id"],
            attribution_window_days=r["attribution_window_days"],
            offer_payout=r["payout"],
            offer_currency=r["currency"],
            cost_model=CostModel(r["cost_model"]),
            cost_value=r["cost_value"],
            dimensions=tuple(r[d] for d in DIMENSIONS),
        )
        for r in rows
        # Ids and times were asked for apart: keep the pairs that were asked for.
        if (r["workspace_id"], r["created_at"], r["id"]) in by_workspace[r["workspace_id"]]
    }


async def currency_rate(
    conn: asyncpg.Connection, workspace_id: int, currency: str, at: datetime
) -> RateSpan | None:
    """The rate valid at ``at``, with the span it stays valid for (until the next rate)."""
    row = await conn.fetchrow(
        """
        SELECT r.rate, r.valid_from,
               (SELECT n.valid_from FROM currency_rates n
                WHERE n.workspace_id = $1 AND n.currency = $2 AND n.valid_from > r.valid_from
                ORDER BY n.valid_from LIMIT 1) AS until
        FROM currency_rates r
        WHERE r.workspace_id = $1 AND r.currency = $2 AND r.valid_from <= $3
        ORDER BY r.valid_from DESC LIMIT 1
        """,
        workspace_id,
        currency,
        at,
    )
    if row is None:
        return None
    return RateSpan(rate=row["rate"], valid_from=row["valid_from"], until=row["until"])


_INSERT_EVENT = """
    INSERT INTO conversion_events (
        workspace_id, click_created_at, click_id, type_id, txid, dedup_txid, added_txids,
        status, amount, original_amount, original_currency, cost, created_at, updated_at,
        params)
    VALUES {values}
    ON CONFLICT (workspace_id, click_created_at, click_id, type_id, dedup_txid) DO NOTHING
    RETURNING id, workspace_id, click_created_at, click_id, type_id, dedup_txid
"""


async def insert_events(
    conn: asyncpg.Connection, events: Sequence[NewEvent]
) -> dict[EventKey, int]:
    """Insert the events whose dedup keys do not exist yet; their ids by key.

    Rows go in key order, so two batches that share keys wait on each other in the same order
    instead of deadlocking.
    """
    if not events:
        return {}
    rows = await multirow.insert(
        conn,
        _INSERT_EVENT,
        [
            (
                e.workspace_id,
                e.click_created_at,
                e.click_id,
                e.type_id,
                e.txid,
                e.dedup_txid,
                e.added_txids,
                e.status.value,
                e.amount,
                e.original_amount,
                e.original_currency,
                e.cost,
                e.received_at,
                e.received_at,
                msgspec.json.encode(e.params).decode(),
            )
            for e in sorted(events, key=lambda e: e.key)
        ],
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
        SELECT id, created_at, status, amount, original_amount, txid, added_txids, cost
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
        created_at=row["created_at"],
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


_INSERT_FORWARDS = """
    INSERT INTO forwards (
        workspace_id, template_id, traffic_source_id, conversion_type_id, conversion_event_id,
        click_created_at, click_id, event_status, amount, txid, created_at, next_attempt_at)
    VALUES {values}
"""


async def insert_forwards(conn: asyncpg.Connection, forwards: Sequence[NewForward]) -> None:
    """Put forwards in the outbox, in the transaction of the events they send (one statement;
    none when no event of the group is forwarded)."""
    if not forwards:
        return
    await multirow.insert(
        conn,
        _INSERT_FORWARDS,
        [
            (
                f.event.workspace_id,
                f.template_id,
                f.event.traffic_source_id,
                f.event.type_id,
                f.event_id,
                f.event.click_created_at,
                f.event.click_id,
                f.status.value,
                f.amount,
                f.txid,
                f.event.received_at,
                f.event.received_at,
            )
            for f in forwards
        ],
    )


LOG_COLUMNS = (
    "workspace_id",
    "received_at",
    "kind",
    "method",
    "source_ip",
    "query",
    "body",
    "click_id",
    "conversion_event_id",
    "outcome",
    "reason",
    "http_status",
)


async def log_hits(conn: asyncpg.Connection, hits: Sequence[tuple[Hit, Outcome]]) -> None:
    # A COPY: routed row by row on Citus like VALUES, with one statement text whatever the
    # group's size, so no re-preparing per size.
    await conn.copy_records_to_table(
        "postback_log",
        columns=LOG_COLUMNS,
        records=[
            (
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
            for hit, outcome in hits
        ],
    )


def _loggable(raw: bytes | None) -> str | None:
    """Raw bytes as text PostgreSQL accepts: invalid UTF-8 escaped, NUL spelled out."""
    if raw is None:
        return None
    return raw[:LOG_TEXT_LIMIT].decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


@asynccontextmanager
async def announcing_transaction(conn: asyncpg.Connection) -> AsyncIterator[list[Outcome]]:
    """A transaction whose COMMIT also NOTIFYs the live feed (models.live) of the events that
    the outcomes put in the yielded list stored or changed.

    The NOTIFY goes in the COMMIT's own round trip (one simple-protocol query), so announcing
    costs the group no extra round trip: a separate `SELECT pg_notify(...)` per group cost the
    postback bench a fifth of its throughput on this machine. PostgreSQL delivers it only once
    the COMMIT succeeds.
    """
    outcomes: list[Outcome] = []
    await conn.execute("BEGIN")
    try:
        yield outcomes
        await conn.execute(_commit(outcomes))
    except BaseException:
        if not conn.is_closed() and conn.is_in_transaction():
            with suppress(*DATABASE_ERRORS):
                await conn.execute("ROLLBACK")
        raise


def _commit(outcomes: Sequence[Outcome]) -> str:
    changes = {HitOutcome.ACCEPTED: live.ADDED, HitOutcome.UPDATED: live.UPDATED}
    payloads = live.payloads(
        (o.workspace_id, o.event_id, o.click_id, changes[o.outcome])
        for o in outcomes
        if o.outcome in changes
        and o.workspace_id is not None
        and o.event_id is not None
        and o.click_id is not None
    )
    # The payloads hold digits, hex digits, spaces, `;` and the change letters only
    # (models.live); a bound parameter is not possible in a simple-protocol query.
    notify = "".join(f"NOTIFY {live.CHANNEL}, '{payload}'; " for payload in payloads)
    return f"{notify}COMMIT"
