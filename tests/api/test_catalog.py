from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from api.catalog.service import CatalogInputError, create_campaign
from api.workspaces.service import NewWorkspace
from models import TrafficSource
from models.enums import CostModel


async def test_campaigns_share_a_source_by_name(session: AsyncSession, workspace: NewWorkspace):
    ws = workspace.workspace.id
    assert ws is not None
    first = await create_campaign(
        session,
        workspace_id=ws,
        name="A",
        offer_url="https://a.example/?c={clickid}",
        source_name="PushNet",
        cost_model=CostModel.CPM,
        cost_value=Decimal("1.5"),
        payout=Decimal(3),
    )
    second = await create_campaign(
        session, workspace_id=ws, name="B", offer_url="https://b.example/", source_name="PushNet"
    )
    await session.commit()
    assert first.campaign.traffic_source_id == second.campaign.traffic_source_id
    assert first.campaign.key != second.campaign.key
    assert len(first.campaign.key) == 12
    assert first.offer.currency == "USD"
    assert await session.scalar(select(func.count()).select_from(TrafficSource)) == 1


@pytest.mark.parametrize(
    ("name", "url", "message"),
    [
        ("", "https://a.example/", "name must be"),
        ("A", "javascript:alert(1)", r"absolute http\(s\) URL"),
        ("A", "/relative", r"absolute http\(s\) URL"),
    ],
)
async def test_bad_campaign_input_is_refused(
    session: AsyncSession, workspace: NewWorkspace, name: str, url: str, message: str
):
    assert workspace.workspace.id is not None
    with pytest.raises(CatalogInputError, match=message):
        await create_campaign(
            session, workspace_id=workspace.workspace.id, name=name, offer_url=url
        )


async def test_a_chosen_campaign_key_is_checked(session: AsyncSession, workspace: NewWorkspace):
    ws = workspace.workspace.id
    assert ws is not None
    with pytest.raises(CatalogInputError, match="campaign key"):
        await create_campaign(
            session, workspace_id=ws, name="A", offer_url="https://a.example/", key="a/b"
        )
