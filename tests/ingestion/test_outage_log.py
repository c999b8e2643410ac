"""A database outage is logged once with its traceback, not once per request, then its end."""

import asyncio
import logging

from tests.conftest import Outage
from tests.ingestion.conftest import TrackedCampaign, click, eventually, postback

REQUESTS = 60


def lines(records: list[logging.LogRecord], start: str) -> list[logging.LogRecord]:
    return [record for record in records if record.getMessage().startswith(start)]


def assert_logged_once_then_recovered(records: list[logging.LogRecord], what: str) -> None:
    [failed] = lines(records, f"could not {what}: ")
    assert failed.exc_info is not None, "the first failure carries its traceback"
    assert not lines(records, f"still cannot {what}"), "no repeat within a few seconds"
    [recovered] = lines(records, f"can {what} again after ")
    assert records.index(recovered) > records.index(failed)


async def test_a_click_outage_is_logged_once_then_its_end(
    client_at, campaign: TrackedCampaign, outage: Outage, service_log: list[logging.LogRecord]
):
    async with client_at("192.0.2.1") as client:
        await click(client)  # the campaign is cached, the pool is open
        async with outage():
            for n in range(REQUESTS):
                # A cached campaign fails at its commit, an unknown one at its lookup.
                key = "summer" if n % 2 else f"unknown{n}"
                response = await client.get(f"/c/{key}", follow_redirects=False)
                assert response.status_code == 503

        async def answers(key: str, status: int) -> bool:
            response = await client.get(f"/c/{key}", follow_redirects=False)
            answered: int = response.status_code
            return answered == status

        await eventually(lambda: answers("unknown", 404))
        await eventually(lambda: answers("summer", 302))

    assert_logged_once_then_recovered(service_log, "commit clicks")
    assert_logged_once_then_recovered(service_log, "look up campaigns")
    # Whatever else ran meanwhile (rollup compaction every 2 s) logged at most its own two.
    assert len(service_log) < 10, [r.getMessage() for r in service_log]


async def test_a_postback_outage_is_logged_once_then_its_end(
    client_at, campaign: TrackedCampaign, outage: Outage, service_log: list[logging.LogRecord]
):
    async with client_at("192.0.2.1") as client:
        click_id = await click(client)

        async def send(txid: str) -> int:
            status, _ = await postback(
                client, campaign.secret, clickid=click_id, type="transaction", txid=txid, sum="1"
            )
            return status

        assert await send("before") == 200  # the workspace is cached
        async with outage():
            # Together, so that groups fail and their hits are tried again one by one.
            statuses = await asyncio.gather(*(send(f"T{n}") for n in range(REQUESTS)))
            assert set(statuses) == {503}

        async def accepted() -> bool:
            return await send("after") == 200

        await eventually(accepted)

    assert_logged_once_then_recovered(service_log, "record postbacks")
    groups = lines(service_log, "could not commit a group of postbacks")
    assert len(groups) <= 1
    assert len(service_log) < 10, [r.getMessage() for r in service_log]
