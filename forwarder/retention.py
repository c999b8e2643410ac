"""Retention of the outbox: settled forwards and their attempts leave after a while.

Every postback a template forwards adds a forward and at least one attempt; nothing else
removes them, and clicks' and events' partition drops do not reach them. The forwarder prunes
them periodically, workspace by workspace (each statement names one, for Citus), in batches
that each commit on their own, so no lock is held for long and the outbox stays claimable.
"""

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from forwarder import repository
from models.database import driver_connection

logger = logging.getLogger(__name__)

# How often the forwarder prunes, and how many forwards one transaction deletes.
PRUNE_EVERY_S = 3_600.0
PRUNE_BATCH = 5_000


async def prune_forwards(
    engine: AsyncEngine, *, retention_days: int, batch: int = PRUNE_BATCH
) -> None:
    """Delete the forwards settled more than ``retention_days`` ago, with their attempts."""
    before = datetime.now(UTC) - timedelta(days=retention_days)
    deleted = 0
    async with driver_connection(engine) as conn:
        for workspace_id in await repository.forwarding_workspaces(conn):
            while True:
                count = await repository.prune(
                    conn, workspace_id, settled_before=before, limit=batch
                )
                deleted += count
                if count < batch:
                    break
    if deleted:
        logger.info("deleted %s forwards settled before %s, with their attempts", deleted, before)
