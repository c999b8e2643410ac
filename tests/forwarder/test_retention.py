"""Retention: settled forwards and their attempts are deleted once old enough, nothing else."""

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.receiver import Receiver
from forwarder.retention import prune_forwards
from models.settings import Settings
from tests.forwarder.conftest import forwarder_settings, rows, running, wait_until
from tests.ingestion.conftest import TrackedCampaign, click, postback


async def _delivered(engine: AsyncEngine, count: int) -> bool:
    found = await rows(engine, "SELECT count(*) AS n FROM forwards WHERE state = 'delivered'")
    return bool(found[0].n == count)


async def test_settled_forwards_leave_with_their_attempts_after_the_retention_period(
    ingestion_client: AsyncTestClient[Litestar],
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
):
    await template_for(receiver.url("/ok/?ev={event_id}"))
    for _ in range(5):
        click_id = await click(ingestion_client)
        assert (await postback(ingestion_client, campaign.secret, cid=click_id))[0] == 200
    async with running(engine, forwarder_settings(settings)):
        await wait_until(lambda: _delivered(engine, 5))
    old_delivered, old_dead, replayed, settled_lately, recent = [
        r.id for r in await rows(engine, "SELECT id FROM forwards ORDER BY id")
    ]
    # All five were created 100 days ago; they differ in state and in when they were settled
    # (a settled forward's next_attempt_at).
    changes = {
        old_delivered: ("delivered", 100),
        old_dead: ("dead", 100),
        replayed: ("pending", 0),
        settled_lately: ("delivered", 10),
    }
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE forwards SET created_at = now() - interval '100 days' WHERE id <> :r"),
            {"r": recent},
        )
        for forward_id, (state, days_ago) in changes.items():
            await conn.execute(
                text(
                    "UPDATE forwards SET state = :state, "
                    "next_attempt_at = now() - make_interval(days => :days) WHERE id = :id"
                ),
                {"state": state, "days": days_ago, "id": forward_id},
            )

    # Batches of one: the loop goes on until a batch comes back short.
    await prune_forwards(engine, retention_days=90, batch=1)

    kept = [r.id for r in await rows(engine, "SELECT id FROM forwards ORDER BY id")]
    assert kept == [replayed, settled_lately, recent]
    attempts = await rows(engine, "SELECT DISTINCT forward_id FROM forward_attempts ORDER BY 1")
    assert [a.forward_id for a in attempts] == kept


async def test_nothing_younger_than_the_retention_period_is_pruned(
    ingestion_client: AsyncTestClient[Litestar],
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
):
    await template_for(receiver.url("/ok/?ev={event_id}"))
    click_id = await click(ingestion_client)
    assert (await postback(ingestion_client, campaign.secret, cid=click_id))[0] == 200
    async with running(engine, forwarder_settings(settings)):
        await wait_until(lambda: _delivered(engine, 1))
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE forwards SET created_at = now() - interval '3 days', "
                "next_attempt_at = now() - interval '2 days'"
            )
        )
    await prune_forwards(engine, retention_days=3)
    assert len(await rows(engine, "SELECT id FROM forwards")) == 1
    assert len(await rows(engine, "SELECT id FROM forward_attempts")) == 1
    await prune_forwards(engine, retention_days=1)
    assert await rows(engine, "SELECT id FROM forwards") == []
    assert await rows(engine, "SELECT id FROM forward_attempts") == []
