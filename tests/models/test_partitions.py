from datetime import UTC, datetime

import pytest
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col, select

from api.workspaces.service import NewWorkspace
from models import Campaign, CampaignKey, Click, ConversionEvent, ConversionType
from models.click_ids import new_click_id
from models.partitions import drop_partitions, ensure_partitions


async def _click(session: AsyncSession, workspace_id: int, at: datetime) -> Click:
    campaign = (
        await session.execute(select(Campaign).where(col(Campaign.workspace_id) == workspace_id))
    ).scalar_one_or_none()
    if campaign is None:
        session.add(CampaignKey(key="k1", workspace_id=workspace_id))
        await session.flush()
        campaign = Campaign(workspace_id=workspace_id, key="k1", name="Campaign 1")
        session.add(campaign)
        await session.flush()
    assert campaign.id is not None
    click_id, created_at = new_click_id(at)
    click = Click(
        workspace_id=workspace_id, created_at=created_at, id=click_id, campaign_id=campaign.id
    )
    session.add(click)
    await session.flush()
    return click


async def _type_id(session: AsyncSession, workspace_id: int, name: str) -> int:
    type_id = await session.scalar(
        select(col(ConversionType.id)).where(
            col(ConversionType.workspace_id) == workspace_id, col(ConversionType.name) == name
        )
    )
    assert type_id is not None
    return type_id


def _event(click: Click, type_id: int, txid: str = "") -> ConversionEvent:
    return ConversionEvent(
        workspace_id=click.workspace_id,
        click_created_at=click.created_at,
        click_id=click.id,
        type_id=type_id,
        txid=txid,
    )


async def test_the_same_event_key_is_stored_once(session: AsyncSession, workspace: NewWorkspace):
    ws = workspace.workspace.id
    assert ws is not None
    click = await _click(session, ws, datetime.now(UTC))
    conversion = await _type_id(session, ws, "conversion")
    session.add(_event(click, conversion))
    await session.commit()
    session.add(_event(click, conversion))
    with pytest.raises(IntegrityError, match="duplicate key value violates unique constraint"):
        await session.commit()


async def test_retention_drops_old_months_of_clicks_and_their_events(
    engine: AsyncEngine, session: AsyncSession, workspace: NewWorkspace
):
    ws = workspace.workspace.id
    assert ws is not None
    old_month = datetime(2025, 10, 10, tzinfo=UTC)
    async with engine.begin() as conn:
        await ensure_partitions(conn, since=old_month, until=old_month)
    transaction = await _type_id(session, ws, "transaction")
    old = await _click(session, ws, old_month)
    recent = await _click(session, ws, datetime.now(UTC))
    session.add_all([_event(old, transaction, "t1"), _event(recent, transaction, "t1")])
    await session.commit()

    async with engine.begin() as conn:
        dropped = await drop_partitions(conn, before=datetime(2025, 11, 1, tzinfo=UTC))

    assert set(dropped) == {
        "clicks_y2025m10",
        "conversion_events_y2025m10",
        "postback_log_y2025m10",
    }
    assert await session.scalar(select(func.count()).select_from(Click)) == 1
    assert await session.scalar(select(col(ConversionEvent.click_id))) == recent.id
