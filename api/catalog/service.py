"""Creating campaigns with their offer and traffic source."""

import re
import secrets
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models import Campaign, CampaignOffer, Offer, TrafficSource, Workspace
from models.enums import CostModel

MAX_NAME_LENGTH = 200
_KEY = re.compile(r"[A-Za-z0-9_-]{4,64}")


class CatalogInputError(ValueError):
    """A campaign, offer or source setting is not acceptable; the message says why."""


@dataclass(frozen=True, slots=True)
class NewCampaign:
    campaign: Campaign
    offer: Offer


def new_campaign_key() -> str:
    """72 random bits, URL-safe: the path segment of the tracking link."""
    return secrets.token_urlsafe(9)


async def create_campaign(
    session: AsyncSession,
    *,
    workspace_id: int,
    name: str,
    offer_url: str,
    source_name: str | None = None,
    source_click_id_param: str | None = None,
    cost_model: CostModel = CostModel.NONE,
    cost_value: Decimal = Decimal(0),
    payout: Decimal | None = None,
    key: str | None = None,
) -> NewCampaign:
    """A campaign sending all its traffic to one new offer, from a source (created if new).

    ``key`` is the tracking link's path segment; random (72 bits) unless one is chosen.
    """
    name = name.strip()
    if key is not None and not _KEY.fullmatch(key):
        raise CatalogInputError(f"campaign key {key!r} must be 4 to 64 letters, digits, - or _")
    if not name or len(name) > MAX_NAME_LENGTH:
        raise CatalogInputError(f"name must be 1 to {MAX_NAME_LENGTH} characters")
    url = urlsplit(offer_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise CatalogInputError(f"offer URL {offer_url!r} must be an absolute http(s) URL")
    if cost_value < 0 or (payout is not None and payout < 0):
        raise CatalogInputError("cost and payout cannot be negative")
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        raise CatalogInputError(f"workspace {workspace_id} does not exist")

    source_id = None
    if source_name:
        source = await _source(session, workspace_id, source_name, source_click_id_param)
        source_id = source.id
    offer = Offer(
        workspace_id=workspace_id,
        name=f"{name} offer",
        url=offer_url,
        payout=payout,
        currency=workspace.currency if payout is not None else None,
    )
    campaign = Campaign(
        workspace_id=workspace_id,
        key=key or new_campaign_key(),
        name=name,
        traffic_source_id=source_id,
        cost_model=cost_model,
        cost_value=cost_value,
    )
    session.add_all([offer, campaign])
    await session.flush()
    assert campaign.id is not None
    assert offer.id is not None
    session.add(
        CampaignOffer(workspace_id=workspace_id, campaign_id=campaign.id, offer_id=offer.id)
    )
    await session.flush()
    return NewCampaign(campaign=campaign, offer=offer)


async def _source(
    session: AsyncSession, workspace_id: int, name: str, click_id_param: str | None
) -> TrafficSource:
    existing = (
        await session.execute(
            select(TrafficSource).where(
                col(TrafficSource.workspace_id) == workspace_id, col(TrafficSource.name) == name
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    source = TrafficSource(workspace_id=workspace_id, name=name, click_id_param=click_id_param)
    session.add(source)
    await session.flush()
    return source
