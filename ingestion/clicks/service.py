"""Turning a visit into a click: campaign, offer rotation, visitor facts, cost, macros."""

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from ipaddress import IPv4Address, IPv6Address

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from ingestion.clicks import repository
from ingestion.clicks.macros import fill
from ingestion.clicks.records import CampaignRoute, ClickRecord, OfferRoute
from ingestion.clicks.writer import ClickWriter
from ingestion.errors import IngestionError
from ingestion.lookups import LookupCache
from ingestion.visitors import parse_user_agent
from models.catalog import CAMPAIGN_KEY
from models.click import SUB_COLUMNS
from models.click_ids import new_click_id
from models.enums import CostModel, RecordStatus

# A paused campaign stops receiving clicks within this many seconds.
CAMPAIGN_CACHE_SECONDS = 5.0
_THOUSAND = Decimal(1000)
_SUB_POSITIONS = {name: i for i, name in enumerate(SUB_COLUMNS)}


@dataclass(frozen=True, slots=True)
class Visit:
    """What a request tells about the visitor, already validated."""

    params: Mapping[str, str]
    ip: IPv4Address | IPv6Address | None
    user_agent: str | None
    referrer: str | None
    country: str | None


@dataclass(frozen=True, slots=True)
class TrackedClick:
    click_id: str
    redirect_url: str | None


class CampaignDirectory(LookupCache[str, CampaignRoute | None]):
    """Campaign routes by tracking-link key, cached briefly (misses too) per process."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(
            partial(repository.find_campaign, engine),
            what="look up campaigns",
            ttl_s=CAMPAIGN_CACHE_SECONDS,
            size=100_000,
        )


async def active_campaign(directory: CampaignDirectory, key: str) -> CampaignRoute:
    """The active campaign with this tracking-link key; 404 otherwise."""
    route = await directory.get(key) if CAMPAIGN_KEY.fullmatch(key) else None
    if route is None or route.status is not RecordStatus.ACTIVE:
        raise IngestionError(
            "unknown_campaign", f"no active campaign has the key {key[:64]!r}", status_code=404
        )
    return route


async def track(
    directory: CampaignDirectory, writer: ClickWriter, *, campaign_key: str, visit: Visit
) -> TrackedClick:
    """The tracking link: record a click only if there is an offer to send the visitor to."""
    route = await active_campaign(directory, campaign_key)
    if not route.offers:
        raise IngestionError(
            "no_active_offer", "This campaign has no active offer.", status_code=404
        )
    click, tracked = new_click(route, visit)
    # Durably unless the writer buffers.
    await writer.write(click)
    return tracked


def new_click(route: CampaignRoute, visit: Visit) -> tuple[ClickRecord, TrackedClick]:
    """A visit's click row, and where the visitor goes."""
    offer = _rotate(route.offers)
    click_id, created_at = new_click_id(datetime.now(UTC))
    device = parse_user_agent(visit.user_agent)
    subs = _subs(visit.params)
    click = ClickRecord(
        workspace_id=route.workspace_id,
        created_at=created_at,
        id=click_id,
        campaign_id=route.id,
        offer_id=offer.id if offer else None,
        traffic_source_id=route.traffic_source_id,
        ip=visit.ip,
        user_agent=visit.user_agent,
        device_type=device.device_type,
        os=device.os,
        browser=device.browser,
        is_bot=device.is_bot,
        country=visit.country,
        referrer=visit.referrer,
        external_id=(
            visit.params.get(route.source_click_id_param) or None
            if route.source_click_id_param
            else None
        ),
        cost=_click_cost(route),
        subs=subs,
        params=msgspec.json.encode(visit.params).decode(),
        fingerprint=_fingerprint(visit),
    )
    if offer is None:
        return click, TrackedClick(click_id=click_id, redirect_url=None)
    # Every incoming parameter (sub1..sub20 among them) is a macro too; ours take precedence.
    macros: dict[str, str | None] = {
        **visit.params,
        "clickid": click_id,
        "campaign_id": str(route.id),
        "source": route.traffic_source_name,
        "country": visit.country,
    }
    return click, TrackedClick(click_id=click_id, redirect_url=fill(offer.url, macros))


def _subs(params: Mapping[str, str]) -> tuple[str | None, ...]:
    """sub1..sub20 by position, empty ones as None (from the few parameters a link carries)."""
    subs: list[str | None] = [None] * len(_SUB_POSITIONS)
    for name, value in params.items():
        position = _SUB_POSITIONS.get(name)
        if position is not None and value:
            subs[position] = value
    return tuple(subs)


def _rotate(offers: tuple[OfferRoute, ...]) -> OfferRoute | None:
    if len(offers) <= 1:
        return offers[0] if offers else None
    # Not security-sensitive: weighted rotation only.
    return random.choices(offers, weights=[o.weight for o in offers])[0]  # noqa: S311


def _click_cost(route: CampaignRoute) -> Decimal:
    if route.cost_model is CostModel.CPC:
        return route.cost_value
    if route.cost_model is CostModel.CPM:
        return route.cost_value / _THOUSAND
    # CPA and revshare cost arises with conversions, not clicks.
    return Decimal(0)


def _fingerprint(visit: Visit) -> bytes:
    material = f"{visit.ip}\x1f{visit.user_agent or ''}".encode()
    return hashlib.blake2b(material, digest_size=16).digest()
