"""`clicktrail serve-forwarder` as an operator runs it: a real process sending to a receiver."""

import asyncio
import os
import signal
import subprocess
import sys

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.receiver import Receiver
from tests.forwarder.conftest import rows, wait_until
from tests.ingestion.conftest import TrackedCampaign, click, postback


async def test_serve_forwarder_delivers_and_stops_on_sigterm(
    ingestion_client: AsyncTestClient[Litestar],
    campaign: TrackedCampaign,
    template_for,
    receiver: Receiver,
    engine: AsyncEngine,
    database_url: str,
):
    await template_for(receiver.url("/ok/?ev={event_id}"))
    click_id = await click(ingestion_client)
    assert (await postback(ingestion_client, campaign.secret, cid=click_id))[0] == 200
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLICKTRAIL_")}
    env.update(
        CLICKTRAIL_DATABASE_URL=database_url,
        CLICKTRAIL_FORWARD_ALLOW_LOOPBACK="true",
        CLICKTRAIL_FORWARD_POLL_MS="20",
        CLICKTRAIL_FORWARDER_METRICS_PORT="0",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "clicktrail", "serve-forwarder", "--no-migrate"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        await receiver.wait_for(1, timeout_s=30)
        await wait_until(lambda: _delivered(engine), timeout_s=10)
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            code = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
    assert process.stdout is not None
    output = (await process.stdout.read()).decode()
    assert code == 0, output
    assert "forwarder stopped after 1 deliveries" in output
    [forwarded] = await rows(engine, "SELECT id FROM forwards")
    assert receiver.event_ids == {str(forwarded.id): 1}


async def _delivered(engine: AsyncEngine) -> bool:
    return bool(await rows(engine, "SELECT id FROM forwards WHERE state = 'delivered'"))
