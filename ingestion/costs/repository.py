"""SQL of applying cost updates, on a raw asyncpg connection like the click writer's."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg

from models.cost_requests import ClickScope
from models.enums import CostUpdateMode
from models.rollups import DIMENSIONS

# The two-key advisory lock form: "cost" in ASCII, then the workspace id modulo 2^31. Held by
# a session while it applies the workspace's updates, so they apply one at a time in the order
# they were requested; the server drops it when that session ends, however its process ends.
LOCK_CLASS = 0x636F7374
LOCK_KEYS = 2**31


@dataclass(frozen=True, slots=True)
class UpdateState:
    mode: CostUpdateMode
    # As requested, in `currency`: the total, or each click's cost.
    amount: Decimal
    currency: str
    # Another currency than the workspace's: converted at each click's time's rate.
    foreign: bool
    # The rate valid at the range's start when the update was taken (1 for the workspace
    # currency): for clicks before the first rate stored now.
    rate: Decimal
    planned_clicks: int
    # Of a total, the part spread so far, in `currency`.
    spread_amount: Decimal
    scope: ClickScope


@dataclass(frozen=True, slots=True)
class Batch:
    number: int
    # The previous batch's last key (the range's start, for the first batch).
    after: tuple[datetime, str]
    last: tuple[datetime, str]
    planned_through: int


@dataclass(frozen=True, slots=True)
class BatchClick:
    created_at: datetime
    id: str
    cost: Decimal
    # Its values of models.rollups.DIMENSIONS, in order.
    dimensions: tuple[object, ...]


async def try_lock(conn: asyncpg.Connection, workspace_id: int) -> bool:
    locked: bool = await conn.fetchval(
        "SELECT pg_try_advisory_lock($1, $2)", LOCK_CLASS, workspace_id % LOCK_KEYS
    )
    return locked


async def unlock(conn: asyncpg.Connection, workspace_id: int) -> None:
    await conn.fetchval("SELECT pg_advisory_unlock($1, $2)", LOCK_CLASS, workspace_id % LOCK_KEYS)


async def queued_workspaces(conn: asyncpg.Connection, *, limit: int) -> list[int]:
    """Workspaces with updates left, the one waiting longest first.

    The queue is a reference table (one copy per node on Citus), so this reads no shard.
    """
    rows = await conn.fetch(
        "SELECT workspace_id FROM cost_update_queue GROUP BY workspace_id "
        "ORDER BY min(update_id) LIMIT $1",
        limit,
    )
    return [row["workspace_id"] for row in rows]


async def unfinished(conn: asyncpg.Connection, *, workspace_id: int) -> list[tuple[int, bool]]:
    """The workspace's updates with batches left, in the order they were requested, each with
    whether its plan is finished."""
    rows = await conn.fetch(
        "SELECT id, planned_at IS NOT NULL AS planned FROM cost_updates "
        "WHERE workspace_id = $1 AND finished_at IS NULL ORDER BY id",
        workspace_id,
    )
    return [(row["id"], row["planned"]) for row in rows]


async def lock_update(
    conn: asyncpg.Connection, *, workspace_id: int, update_id: int
) -> UpdateState | None:
    """The unfinished, planned update, its row locked until the transaction ends: a second
    session that got past the advisory lock would wait here, then find the batch this one
    applied."""
    row = await conn.fetchrow(
        """
        SELECT mode, amount, currency, rate, planned_clicks, spread_amount, campaign_id,
               starts_at, ends_at, traffic_source_id, country, sub_number, sub_value
        FROM cost_updates
        WHERE workspace_id = $1 AND id = $2 AND finished_at IS NULL AND planned_at IS NOT NULL
        FOR UPDATE
        """,
        workspace_id,
        update_id,
    )
    if row is None:
        return None
    # A statement of its own: Citus takes row locks in single-table statements most surely.
    workspace_currency = await conn.fetchval(
        "SELECT currency FROM workspaces WHERE id = $1", workspace_id
    )
    return UpdateState(
        mode=CostUpdateMode(row["mode"]),
        amount=row["amount"],
        currency=row["currency"],
        foreign=row["currency"] != workspace_currency,
        rate=row["rate"],
        planned_clicks=row["planned_clicks"],
        spread_amount=row["spread_amount"],
        scope=ClickScope(
            campaign_id=row["campaign_id"],
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            traffic_source_id=row["traffic_source_id"],
            country=row["country"],
            sub_number=row["sub_number"],
            sub_value=row["sub_value"],
        ),
    )


async def next_batch(
    conn: asyncpg.Connection, *, workspace_id: int, update_id: int, starts_at: datetime
) -> Batch | None:
    row = await conn.fetchrow(
        """
        SELECT b.batch, b.last_created_at, b.last_id, b.planned_through,
               p.last_created_at AS after_created_at, p.last_id AS after_id
        FROM cost_update_batches AS b
        LEFT JOIN cost_update_batches AS p ON p.workspace_id = b.workspace_id
            AND p.update_id = b.update_id AND p.batch = b.batch - 1
        WHERE b.workspace_id = $1 AND b.update_id = $2 AND b.applied_at IS NULL
        ORDER BY b.batch LIMIT 1
        """,
        workspace_id,
        update_id,
    )
    if row is None:
        return None
    # Every click id is longer than '': the first batch starts at the range's first click.
    after = (row["after_created_at"], row["after_id"]) if row["batch"] else (starts_at, "")
    return Batch(
        number=row["batch"],
        after=after,
        last=(row["last_created_at"], row["last_id"]),
        planned_through=row["planned_through"],
    )


async def rates(
    conn: asyncpg.Connection,
    *,
    workspace_id: int,
    currency: str,
    since: datetime,
    until: datetime,
) -> list[tuple[datetime, Decimal]]:
    """The stored rates of ``currency`` that hold somewhere in ``since``..``until``: the one
    valid at ``since`` (if any) and those that start after it, by their start."""
    rows = await conn.fetch(
        """
        (SELECT valid_from, rate FROM currency_rates
         WHERE workspace_id = $1 AND currency = $2 AND valid_from <= $3
         ORDER BY valid_from DESC LIMIT 1)
        UNION ALL
        (SELECT valid_from, rate FROM currency_rates
         WHERE workspace_id = $1 AND currency = $2 AND valid_from > $3 AND valid_from <= $4)
        ORDER BY valid_from
        """,
        workspace_id,
        currency,
        since,
        until,
    )
    return [(row["valid_from"], row["rate"]) for row in rows]


async def batch_clicks(
    conn: asyncpg.Connection, *, workspace_id: int, scope: ClickScope, batch: Batch
) -> list[BatchClick]:
    """The batch's clicks as they are now, in key order, locked against other writers of their
    cost until the transaction ends (FOR NO KEY UPDATE: the key-share locks of postbacks'
    foreign keys pass)."""
    where, values = scope.where(6)
    rows = await conn.fetch(
        f"""
        SELECT created_at, id, cost, {", ".join(DIMENSIONS)} FROM clicks
        WHERE workspace_id = $1 AND created_at >= $2 AND created_at <= $4
            AND (created_at, id) > ($2, $3) AND (created_at, id) <= ($4, $5) AND {where}
        ORDER BY created_at, id
        FOR NO KEY UPDATE
        """,  # noqa: S608 - columns from the model, conditions from ClickScope.where
        workspace_id,
        *batch.after,
        *batch.last,
        *values,
    )
    return [
        BatchClick(
            created_at=row["created_at"],
            id=row["id"],
            cost=row["cost"],
            dimensions=tuple(row[d] for d in DIMENSIONS),
        )
        for row in rows
    ]


async def set_costs(
    conn: asyncpg.Connection,
    *,
    workspace_id: int,
    batch: Batch,
    costs: Sequence[tuple[datetime, str, Decimal]],
) -> None:
    """Store each click's new cost; the batch's time span prunes the other partitions."""
    if not costs:
        return
    await conn.execute(
        """
        UPDATE clicks AS c SET cost = v.cost
        FROM unnest($4::timestamptz[], $5::text[], $6::numeric[]) AS v (created_at, id, cost)
        WHERE c.workspace_id = $1 AND c.created_at >= $2 AND c.created_at <= $3
            AND c.created_at = v.created_at AND c.id = v.id
        """,
        workspace_id,
        batch.after[0],
        batch.last[0],
        [c[0] for c in costs],
        [c[1] for c in costs],
        [c[2] for c in costs],
    )


async def mark_applied(
    conn: asyncpg.Connection,
    *,
    workspace_id: int,
    update_id: int,
    batch: Batch,
    touched: int,
    old_total: Decimal,
    new_total: Decimal,
    spread: Decimal,
) -> None:
    """What the batch did, and the update's sums, in the transaction that applied it."""
    await conn.execute(
        """
        UPDATE cost_update_batches
        SET applied_at = now(), clicks_touched = $4, old_total = $5, new_total = $6
        WHERE workspace_id = $1 AND update_id = $2 AND batch = $3
        """,
        workspace_id,
        update_id,
        batch.number,
        touched,
        old_total,
        new_total,
    )
    await conn.execute(
        """
        UPDATE cost_updates
        SET clicks_touched = clicks_touched + $3, old_total = old_total + $4,
            new_total = new_total + $5, spread_amount = spread_amount + $6,
            batches_applied = batches_applied + 1
        WHERE workspace_id = $1 AND id = $2
        """,
        workspace_id,
        update_id,
        touched,
        old_total,
        new_total,
        spread,
    )


async def finish(conn: asyncpg.Connection, *, workspace_id: int, update_id: int) -> None:
    await conn.execute(
        "UPDATE cost_updates SET finished_at = now() "
        "WHERE workspace_id = $1 AND id = $2 AND finished_at IS NULL",
        workspace_id,
        update_id,
    )
    await conn.execute("DELETE FROM cost_update_queue WHERE update_id = $1", update_id)
