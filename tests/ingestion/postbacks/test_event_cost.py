"""CPA and RevShare campaigns: the cost their events carry, as postbacks record and change them."""

from decimal import Decimal
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models import Campaign
from models.enums import CostModel
from tests.ingestion.conftest import Client, TrackedCampaign, click, postback


async def _terms(
    session: AsyncSession, campaign: TrackedCampaign, model: CostModel, value: str
) -> None:
    await session.execute(
        update(Campaign)
        .where(col(Campaign.id) == campaign.campaign_id)
        .values(cost_model=model, cost_value=Decimal(value))
    )
    await session.commit()


async def _costs(session: AsyncSession) -> list[tuple[str, str, Decimal, Decimal]]:
    rows = await session.execute(
        text(
            "SELECT t.name, e.status, e.amount, e.cost FROM conversion_events e "
            "JOIN conversion_types t ON t.workspace_id = e.workspace_id AND t.id = e.type_id "
            "ORDER BY e.id"
        )
    )
    return [tuple(row) for row in rows.all()]


async def test_cpa_campaigns_pay_per_conversion_not_per_transaction(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    await _terms(session, campaign, CostModel.CPA, "3")
    click_id = await click(ingestion_client)

    async def send(**params: str) -> dict[str, Any]:
        status, body = await postback(ingestion_client, campaign.secret, clickid=click_id, **params)
        assert status == 200, body
        return body

    await send(sum="10", status="pending")
    await send(type="transaction", txid="t1", sum="4")
    assert (await send(status="approved"))["result"] == "updated"
    assert await _costs(session) == [
        ("conversion", "approved", Decimal("10"), Decimal("3")),
        ("transaction", "approved", Decimal("4"), Decimal("0")),
    ]
    # Clicks of a CPA campaign cost nothing themselves.
    assert (await session.execute(text("SELECT cost FROM clicks"))).scalar_one() == 0


async def test_revshare_campaigns_pay_a_share_of_each_events_revenue(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    await session.execute(
        text(
            """
            INSERT INTO conversion_types
                (workspace_id, name, counts_as_conversion, counts_in_revenue, duplicate_policy)
            VALUES (:w, 'deposit', false, true, 'add_amount'),
                   (:w, 'subscription', false, true, 'update'),
                   (:w, 'signup', true, false, 'ignore')
            """
        ),
        {"w": campaign.workspace_id},
    )
    await _terms(session, campaign, CostModel.REVSHARE, "30")
    click_id = await click(ingestion_client)

    async def send(**params: str) -> str:
        status, body = await postback(ingestion_client, campaign.secret, clickid=click_id, **params)
        assert status == 200, body
        return str(body["result"])

    assert await send(sum="10") == "accepted"
    assert await send(type="transaction", txid="t1", sum="5") == "accepted"
    assert await send(type="subscription", sum="9.99") == "accepted"
    assert await send(type="subscription", sum="19.99") == "updated"
    assert await send(type="deposit", txid="d1", sum="10") == "accepted"
    assert await send(type="deposit", txid="d2", sum="5") == "updated"
    # No revenue, no share, even where it counts as a conversion.
    assert await send(type="signup", sum="7") == "accepted"
    # New terms apply to new amounts; a status change alone keeps the recorded cost.
    await _terms(session, campaign, CostModel.REVSHARE, "50")
    assert await send(status="declined") == "updated"
    assert await send(type="subscription", sum="20") == "updated"
    assert await _costs(session) == [
        ("conversion", "declined", Decimal("10"), Decimal("3")),
        ("transaction", "approved", Decimal("5"), Decimal("1.5")),
        ("subscription", "approved", Decimal("20"), Decimal("10")),
        ("deposit", "approved", Decimal("15"), Decimal("4.5")),
        ("signup", "approved", Decimal("7"), Decimal("0")),
    ]


async def test_cpc_campaigns_events_cost_nothing(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    click_id = await click(ingestion_client)
    status, _ = await postback(ingestion_client, campaign.secret, clickid=click_id, sum="10")
    assert status == 200
    assert [row[3] for row in await _costs(session)] == [Decimal("0")]
    assert (await session.execute(text("SELECT cost FROM clicks"))).scalar_one() == Decimal("0.05")
