from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from models import Campaign
from models.enums import CostModel
from tests.ingestion.conftest import Client, TrackedCampaign, click


@pytest.mark.parametrize(
    ("model", "value", "per_click"),
    [
        (CostModel.CPM, "1.7", "0.0017"),
        (CostModel.CPC, "0.05", "0.05"),
        # These pay per conversion: their clicks cost nothing.
        (CostModel.CPA, "3", "0"),
        (CostModel.REVSHARE, "40", "0"),
        (CostModel.NONE, "0", "0"),
    ],
)
async def test_each_click_carries_its_campaign_cost(
    ingestion_client: Client,
    session: AsyncSession,
    campaign: TrackedCampaign,
    model: CostModel,
    value: str,
    per_click: str,
):
    row = await session.get(Campaign, (campaign.workspace_id, campaign.campaign_id))
    assert row is not None
    row.cost_model, row.cost_value = model, Decimal(value)
    await session.commit()
    linked = await click(ingestion_client)
    response = await ingestion_client.post("/clicks", json={"campaign_key": campaign.key})
    assert response.status_code == 201, response.text
    posted = response.json()["click_id"]
    costs: dict[str, Decimal] = dict(
        (await session.execute(text("SELECT id, cost FROM clicks"))).all()
    )
    assert costs == {linked: Decimal(per_click), posted: Decimal(per_click)}
