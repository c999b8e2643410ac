"""SQL for workspaces and API keys."""

from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models import ApiKey, PostbackSecret, Workspace


async def get_workspace(session: AsyncSession, workspace_id: int) -> Workspace | None:
    return await session.get(Workspace, workspace_id)


async def active_postback_secret(session: AsyncSession, workspace_id: int) -> str | None:
    """The newest secret that does not expire: the one templates show."""
    result = await session.execute(
        select(PostbackSecret.secret)
        .where(
            col(PostbackSecret.workspace_id) == workspace_id,
            col(PostbackSecret.expires_at).is_(None),
        )
        .order_by(col(PostbackSecret.created_at).desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def expire_postback_secrets(
    session: AsyncSession, workspace_id: int, *, at: datetime
) -> None:
    """Make every secret of the workspace that would outlive ``at`` expire then."""
    await session.execute(
        update(PostbackSecret)
        .where(
            col(PostbackSecret.workspace_id) == workspace_id,
            or_(col(PostbackSecret.expires_at).is_(None), col(PostbackSecret.expires_at) > at),
        )
        .values(expires_at=at)
    )


async def find_active_api_key(session: AsyncSession, secret_hash: bytes) -> ApiKey | None:
    result = await session.execute(
        select(ApiKey).where(ApiKey.secret_hash == secret_hash, col(ApiKey.revoked_at).is_(None))
    )
    return result.scalars().first()
