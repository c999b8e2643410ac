"""SQL for workspaces and API keys."""

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models import ApiKey, Workspace


async def get_workspace(session: AsyncSession, workspace_id: int) -> Workspace | None:
    return await session.get(Workspace, workspace_id)


async def find_active_api_key(session: AsyncSession, secret_hash: bytes) -> ApiKey | None:
    result = await session.execute(
        select(ApiKey).where(ApiKey.secret_hash == secret_hash, col(ApiKey.revoked_at).is_(None))
    )
    return result.scalars().first()
