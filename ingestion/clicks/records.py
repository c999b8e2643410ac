"""What the click path knows about a campaign, and the click row it writes."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address

from models.enums import CostModel, RecordStatus


@dataclass(frozen=True, slots=True)
class OfferRoute:
    id: int
    url: str
    weight: int


@dataclass(frozen=True, slots=True)
class CampaignRoute:
    """A campaign as the redirect needs it; cached briefly per process."""

    workspace_id: int
    id: int
    status: RecordStatus
    cost_model: CostModel
    cost_value: Decimal
    traffic_source_id: int | None
    traffic_source_name: str | None
    # Query parameter carrying the traffic source's own click id.
    source_click_id_param: str | None
    offers: tuple[OfferRoute, ...]


@dataclass(frozen=True, slots=True)
class ClickRecord:
    workspace_id: int
    created_at: datetime
    id: str
    campaign_id: int
    offer_id: int | None
    traffic_source_id: int | None
    ip: IPv4Address | IPv6Address | None
    user_agent: str | None
    device_type: str
    os: str | None
    browser: str | None
    is_bot: bool
    country: str | None
    referrer: str | None
    external_id: str | None
    cost: Decimal
    subs: tuple[str | None, ...]
    # Every incoming parameter, as JSON text.
    params: str
    # Hash of IP + user agent; the writer decides uniqueness from it.
    fingerprint: bytes
