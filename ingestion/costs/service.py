"""Applying cost updates: batch by batch, each in a transaction of its own.

A batch's transaction sets its clicks' costs, writes the differences into the rollups' pending
changes (under the workspace's shared rollup lock, as the click writer does), adds what it did
to the update's record and marks the batch applied: a batch is applied exactly once whatever
crashes in between, and whoever resumes the update (a restarted worker, another process, the
CLI run again) starts at the first batch not marked. A batch holds row locks on its clicks
only, which no ingestion statement waits for (postbacks' foreign keys take key-share locks),
and only for its own short transaction.

An update is applied once its plan is finished (``models.cost_requests``): one its requester
left half planned is planned here first, unless a session (its requester) is planning it, in
which case the workspace's later updates wait for it too.

Click costs are set, not added: applying an update twice, or two updates over the same
clicks, leaves the costs of the last. One session applies a workspace's updates at a time, in
the order they were requested, holding an advisory lock for the workspace.

Which clicks a batch touches: the batch is the run of keys planned when the update was taken;
its part of a total is fixed then too. A click written into a batch's run after the plan (a
click the click writer committed late) shares the batch's part; one written there after the
batch ran keeps the cost it was ingested with. So the costs an update sets sum exactly to its
total, whatever ingestion does meanwhile (unless every click of the last batch's run is gone
when it runs: that part is not spread, and the record's new total says so).

Another currency than the workspace's: a total is spread in it (exactly, as above), and each
click's part converted at the rate valid at the click's time, a run of clicks under one rate
at a time, rounded half up to millionths once per run (so per batch and rate); a cost per click
is converted click by click. Reports per day then put each day's cost at that day's rate, as
they do revenue (a conversion's amount is converted at the event's time).
"""

import logging
from bisect import bisect_right
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from ingestion.costs import repository
from ingestion.costs.apportion import batch_share, spread_evenly
from ingestion.costs.repository import Batch, UpdateState
from models.cost_requests import BATCH_CLICKS, PLAN_CLICKS, plan_cost_update
from models.database import DATABASE_ERRORS, driver_connection
from models.enums import CostUpdateMode
from models.failure_log import FailureLog
from models.rollups import MICROS, ClickChanges, lock_shared

logger = logging.getLogger(__name__)

# Workspaces one pass of the worker looks at.
QUEUE_PAGE = 100

# Told of each batch committed: the update's id and the clicks the batch found.
BatchDone = Callable[[int, int], None]


async def apply_cost_updates(
    engine: AsyncEngine,
    *,
    workspace_id: int,
    on_batch: BatchDone | None = None,
    batch_clicks: int = BATCH_CLICKS,
    plan_clicks: int = PLAN_CLICKS,
) -> bool:
    """Apply the workspace's unfinished updates, oldest first; False if another session is
    applying them. ``batch_clicks`` and ``plan_clicks``: the sizes of a plan finished here."""
    async with driver_connection(engine) as conn:
        if not await repository.try_lock(conn, workspace_id):
            return False
        try:
            for update_id, planned in await repository.unfinished(conn, workspace_id=workspace_id):
                if not planned and not await plan_cost_update(
                    conn,
                    workspace_id=workspace_id,
                    update_id=update_id,
                    batch_clicks=batch_clicks,
                    plan_clicks=plan_clicks,
                ):
                    # Its requester is planning it; the later ones apply after it.
                    break
                while (
                    touched := await _apply_next_batch(conn, workspace_id, update_id)
                ) is not None:
                    if on_batch is not None:
                        on_batch(update_id, touched)
        finally:
            await repository.unlock(conn, workspace_id)
    return True


async def _apply_next_batch(
    conn: asyncpg.Connection, workspace_id: int, update_id: int
) -> int | None:
    """Apply the update's next batch; the clicks it found, or None when none is left."""
    async with conn.transaction():
        # Before the changes are written, as every writer of rollup changes takes it.
        await lock_shared(conn, [workspace_id])
        update = await repository.lock_update(conn, workspace_id=workspace_id, update_id=update_id)
        if update is None:
            return None
        batch = await repository.next_batch(
            conn, workspace_id=workspace_id, update_id=update_id, starts_at=update.scope.starts_at
        )
        if batch is None:
            await repository.finish(conn, workspace_id=workspace_id, update_id=update_id)
            return None
        clicks = await repository.batch_clicks(
            conn, workspace_id=workspace_id, scope=update.scope, batch=batch
        )
        spread, foreign_costs = _shares(update, batch, len(clicks))
        found_rates = (
            await repository.rates(
                conn,
                workspace_id=workspace_id,
                currency=update.currency,
                since=clicks[0].created_at,
                until=clicks[-1].created_at,
            )
            if update.foreign and clicks
            else []
        )
        costs = _converted(
            [c.created_at for c in clicks], foreign_costs, found_rates, update=update
        )
        changes = ClickChanges()
        changed = []
        for click, cost in zip(clicks, costs, strict=True):
            if cost != click.cost:
                changed.append((click.created_at, click.id, cost))
                changes.cost_changed(
                    workspace_id, click.created_at, click.dimensions, before=click.cost, after=cost
                )
        await repository.set_costs(conn, workspace_id=workspace_id, batch=batch, costs=changed)
        await changes.write(conn)
        await repository.mark_applied(
            conn,
            workspace_id=workspace_id,
            update_id=update_id,
            batch=batch,
            touched=len(clicks),
            old_total=sum((c.cost for c in clicks), Decimal(0)),
            new_total=sum(costs, Decimal(0)),
            spread=spread,
        )
    return len(clicks)


def _shares(update: UpdateState, batch: Batch, found: int) -> tuple[Decimal, list[int]]:
    """What the batch spreads of a total (in the update's currency), and each of its ``found``
    clicks' cost in millionths of that currency, in key order."""
    if update.mode is CostUpdateMode.PER_CLICK:
        return Decimal(0), [_micros(update.amount)] * found
    if not found:
        # Its part is left to the next batch.
        return Decimal(0), []
    share = batch_share(
        _micros(update.amount),
        update.planned_clicks,
        batch.planned_through,
        _micros(update.spread_amount),
    )
    return Decimal(share).scaleb(-6), spread_evenly(share, found)


def _converted(
    moments: list[datetime],
    micros: list[int],
    rates: list[tuple[datetime, Decimal]],
    *,
    update: UpdateState,
) -> list[Decimal]:
    """The clicks' costs in the workspace currency, from ``micros`` in the update's.

    Each click's at the rate valid at its time (the update's own rate before the first of
    ``rates``). A cost per click is converted click by click; a total's shares run by run
    (consecutive clicks under one rate): the run's sum converted, rounded half up to
    millionths once, and spread evenly over the run again, so the costs sum to each run's part
    converted.
    """
    if not update.foreign:
        return [Decimal(m).scaleb(-6) for m in micros]
    starts = [valid_from for valid_from, _ in rates]
    runs: list[tuple[Decimal, list[int]]] = []
    for moment, amount in zip(moments, micros, strict=True):
        at = bisect_right(starts, moment) - 1
        rate = rates[at][1] if at >= 0 else update.rate
        if runs and runs[-1][0] == rate:
            runs[-1][1].append(amount)
        else:
            runs.append((rate, [amount]))
    costs: list[Decimal] = []
    for rate, run in runs:
        if update.mode is CostUpdateMode.PER_CLICK:
            costs.extend([_at_rate(run[0], rate)] * len(run))
        else:
            total = int(_at_rate(sum(run), rate).scaleb(6))
            costs.extend(Decimal(m).scaleb(-6) for m in spread_evenly(total, len(run)))
    return costs


def _at_rate(micros: int, rate: Decimal) -> Decimal:
    """``micros`` millionths times ``rate``, rounded half up to millionths (exact: at most 60
    digits)."""
    with localcontext(prec=60):
        return (Decimal(micros) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP).scaleb(-6)


def _micros(amount: Decimal) -> int:
    # Exact: stored amounts have six decimals.
    return int(amount * MICROS)


class CostUpdateWorker:
    """Applies queued updates in the background of an ingestion process: the ones requested
    through GraphQL, and any another process left unfinished."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        batch_clicks: int = BATCH_CLICKS,
        plan_clicks: int = PLAN_CLICKS,
    ) -> None:
        self._engine = engine
        self._batch_clicks = batch_clicks
        self._plan_clicks = plan_clicks
        self._failures = FailureLog(logger, "apply cost updates")

    async def run_queued(self) -> None:
        """Apply every queued workspace's updates that no other session is applying; one that
        fails is retried on the next pass, after the others."""
        async with driver_connection(self._engine) as conn:
            workspaces = await repository.queued_workspaces(conn, limit=QUEUE_PAGE)
        for workspace_id in workspaces:
            try:
                await apply_cost_updates(
                    self._engine,
                    workspace_id=workspace_id,
                    batch_clicks=self._batch_clicks,
                    plan_clicks=self._plan_clicks,
                )
            except DATABASE_ERRORS as error:
                self._failures.failed(error)
            else:
                self._failures.recovered()
