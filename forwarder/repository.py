"""SQL of the forwarder, on a raw asyncpg connection: find, claim and settle forwards.

On Citus every statement here names one workspace (`workspace_id = $1`), so each is one task
on one shard. The statements that cover several workspaces are run once per workspace in one
round trip (asyncpg's executemany / fetchmany pipelines them).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from models.click import SUB_COUNT

_SUBS = ", ".join(f"k.sub{n}" for n in range(1, SUB_COUNT + 1))
_DUE_SUBS = ", ".join(f"due.sub{n}" for n in range(1, SUB_COUNT + 1))


async def forwarding_workspaces(conn: asyncpg.Connection) -> list[int]:
    """Workspaces that have had forward templates (a reference table: no shard to pick)."""
    rows = await conn.fetch("SELECT workspace_id FROM forwarding_workspaces ORDER BY 1")
    return [row["workspace_id"] for row in rows]


# The claim is the lease: a claimed forward is due again when it lapses, so a forwarder that
# dies holding it (kill -9, a lost host) hands it on by doing nothing. Its new due time is also
# the claim's token: settling it only touches the row while the token still matches.
_CLAIM = f"""
    WITH due AS (
        SELECT f.id, t.url, t.method, t.payout_override, t.payout_share,
            ct.name AS type_name, w.currency, k.external_id, k.campaign_id, {_SUBS}
        FROM forwards f
        JOIN forward_templates t ON t.workspace_id = f.workspace_id AND t.id = f.template_id
        JOIN conversion_types ct
            ON ct.workspace_id = f.workspace_id AND ct.id = f.conversion_type_id
        JOIN workspaces w ON w.id = f.workspace_id
        LEFT JOIN clicks k ON k.workspace_id = f.workspace_id
            AND k.created_at = f.click_created_at AND k.id = f.click_id
        WHERE f.workspace_id = $1 AND f.state = 'pending' AND f.next_attempt_at <= now()
        ORDER BY f.next_attempt_at
        LIMIT $2
        FOR UPDATE OF f SKIP LOCKED
    )
    UPDATE forwards f
    SET next_attempt_at = clock_timestamp() + make_interval(secs => $3)
    FROM due
    WHERE f.workspace_id = $1 AND f.id = due.id
    RETURNING f.workspace_id, f.id, f.next_attempt_at AS lease, f.attempts, f.created_at,
        f.conversion_event_id, f.event_status, f.amount, f.txid, f.click_id, due.url,
        due.method, due.payout_override, due.payout_share, due.type_name, due.currency,
        due.external_id, due.campaign_id, {_DUE_SUBS}
"""


async def claim(
    conn: asyncpg.Connection, workspace_ids: Sequence[int], *, limit: int, lease_s: float
) -> list[asyncpg.Record]:
    """Claim up to ``limit`` due forwards of each workspace, with what rendering them needs."""
    if not workspace_ids:
        return []
    return await conn.fetchmany(_CLAIM, [(w, limit, lease_s) for w in workspace_ids])


@dataclass(frozen=True, slots=True)
class Settled:
    """What became of a claimed forward."""

    workspace_id: int
    id: int
    lease: datetime
    state: str
    # 1 when an attempt was made; 0 when the forward was handed back unsent.
    tried: int
    # Due again after this long (pending only).
    delay_s: float
    delivered_at: datetime | None = None
    status_code: int | None = None
    error: str | None = None


_SETTLE = """
    UPDATE forwards f
    SET state = u.state,
        attempts = f.attempts + u.tried,
        next_attempt_at = clock_timestamp() + make_interval(secs => u.delay),
        delivered_at = u.delivered_at,
        last_status_code = CASE WHEN u.tried = 0 THEN f.last_status_code ELSE u.code END,
        last_error = CASE WHEN u.tried = 0 THEN f.last_error ELSE u.error END
    FROM unnest($2::bigint[], $3::timestamptz[], $4::text[], $5::int[], $6::float8[],
                $7::timestamptz[], $8::int[], $9::text[])
        AS u(id, lease, state, tried, delay, delivered_at, code, error)
    WHERE f.workspace_id = $1 AND f.id = u.id AND f.next_attempt_at = u.lease
"""

ATTEMPT_COLUMNS = (
    "workspace_id",
    "forward_id",
    "attempted_at",
    "url",
    "method",
    "status_code",
    "latency_ms",
    "error",
    "answer",
)


async def settle(
    conn: asyncpg.Connection,
    settled: Sequence[Settled],
    attempts: Sequence[tuple[object, ...]],
) -> None:
    """Record outcomes and attempts in one transaction: one UPDATE per workspace (pipelined)
    and one COPY, whatever the number of forwards."""
    by_workspace: dict[int, list[Settled]] = {}
    for item in settled:
        by_workspace.setdefault(item.workspace_id, []).append(item)
    async with conn.transaction():
        if by_workspace:
            await conn.executemany(
                _SETTLE,
                [
                    (
                        workspace_id,
                        [s.id for s in items],
                        [s.lease for s in items],
                        [s.state for s in items],
                        [s.tried for s in items],
                        [s.delay_s for s in items],
                        [s.delivered_at for s in items],
                        [s.status_code for s in items],
                        [s.error for s in items],
                    )
                    for workspace_id, items in by_workspace.items()
                ],
            )
        if attempts:
            await conn.copy_records_to_table(
                "forward_attempts", columns=ATTEMPT_COLUMNS, records=attempts
            )


# A settled forward's next_attempt_at is when it was settled (its delay is 0), never before
# it was created: created_at narrows the search to the index on (workspace_id, created_at).
# The outer conditions are checked again on the row as it is when deleted, so a forward
# replayed meanwhile (pending again) stays. Attempts go with it (ON DELETE CASCADE).
_PRUNE = """
    DELETE FROM forwards f
    WHERE f.workspace_id = $1 AND f.state <> 'pending' AND f.next_attempt_at < $2
        AND f.id = ANY(ARRAY(
            SELECT id FROM forwards
            WHERE workspace_id = $1 AND created_at < $2 AND state <> 'pending'
                AND next_attempt_at < $2
            LIMIT $3
            FOR UPDATE SKIP LOCKED
        ))
"""


async def prune(
    conn: asyncpg.Connection, workspace_id: int, *, settled_before: datetime, limit: int
) -> int:
    """Delete up to ``limit`` forwards of a workspace settled before ``settled_before``, with
    their attempts; how many were deleted."""
    status = await conn.execute(_PRUNE, workspace_id, settled_before, limit)
    return int(status.split()[-1])
