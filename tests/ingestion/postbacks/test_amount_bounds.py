"""An amount the event's column cannot hold is a permanent, logged bad_amount: never a 503."""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from models import CurrencyRate
from tests.ingestion.conftest import Client, TrackedCampaign, click, count, postback

REFUSED = (400, "bad_amount")


async def _log(session: AsyncSession) -> list[tuple[str, str, int]]:
    rows = await session.execute(
        text("SELECT kind, reason, http_status FROM postback_log ORDER BY id")
    )
    return [tuple(row) for row in rows.all()]


async def test_an_amount_that_rounds_to_1e12_is_a_logged_bad_amount(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    click_id = await click(ingestion_client)
    query = {"clickid": click_id, "sum": "999999999999.9999999"}
    status, body = await postback(ingestion_client, campaign.secret, **query)
    assert (status, body["error"]) == REFUSED
    assert "1e12" in body["detail"]
    posted = await ingestion_client.post(f"/postback/{campaign.secret}", data=query)
    assert (posted.status_code, posted.json()["error"]) == REFUSED
    pixel = await ingestion_client.get(f"/pixel/{campaign.secret}.gif", params=query)
    assert pixel.status_code == 200
    assert pixel.content.startswith(b"GIF89a")
    assert pixel.headers["x-clicktrail-result"] == "bad_amount"
    # The largest amount that fits is taken.
    status, _ = await postback(
        ingestion_client, campaign.secret, clickid=click_id, sum="999999999999.9999994"
    )
    assert status == 200
    assert await _log(session) == [
        ("postback", "bad_amount", 400),
        ("postback", "bad_amount", 400),
        ("pixel", "bad_amount", 400),
        ("postback", "accepted", 200),
    ]


async def test_an_amount_past_the_column_once_converted_is_a_logged_bad_amount(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    session.add(
        CurrencyRate(
            workspace_id=campaign.workspace_id,
            currency="EUR",
            valid_from=datetime(2020, 1, 1, tzinfo=UTC),
            rate=Decimal(1000),
        )
    )
    await session.commit()
    click_id = await click(ingestion_client)
    for amount in ("10000000000", "999999999999.999999"):
        status, body = await postback(
            ingestion_client, campaign.secret, clickid=click_id, sum=amount, currency="EUR"
        )
        assert (status, body["error"]) == REFUSED, amount
        assert "at the stored rate of 1000" in body["detail"]
    status, _ = await postback(
        ingestion_client, campaign.secret, clickid=click_id, sum="999999999", currency="EUR"
    )
    assert status == 200
    assert await _log(session) == [
        ("postback", "bad_amount", 400),
        ("postback", "bad_amount", 400),
        ("postback", "accepted", 200),
    ]


async def test_an_addition_past_the_column_is_a_bad_amount_and_changes_nothing(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    await session.execute(
        text(
            "INSERT INTO conversion_types (workspace_id, name, counts_as_conversion, "
            "counts_in_revenue, duplicate_policy) VALUES (:w, 'deposit', false, true, 'add_amount')"
        ),
        {"w": campaign.workspace_id},
    )
    await session.commit()
    click_id = await click(ingestion_client)

    async def deposit(txid: str) -> tuple[int, str]:
        status, body = await postback(
            ingestion_client,
            campaign.secret,
            clickid=click_id,
            type="deposit",
            txid=txid,
            sum="600000000000",
        )
        return status, body.get("result") or body["error"]

    assert await deposit("d1") == (200, "accepted")
    assert await deposit("d2") == REFUSED
    assert await count(session, "SELECT count(*) FROM conversion_events") == 1
    amount = await session.scalar(text("SELECT amount FROM conversion_events"))
    assert amount == Decimal("600000000000")
    assert [row[1] for row in await _log(session)] == ["accepted", "bad_amount"]
