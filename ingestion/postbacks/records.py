"""What a postback or pixel hit carries in, and what clicktrail answers."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any

from models.conversion_rules import EventCost
from models.enums import ConversionStatus, CostModel, DuplicatePolicy, HitKind, HitOutcome


@dataclass(frozen=True, slots=True)
class Hit:
    """A postback or pixel request, raw: it is logged as received, whatever happens next."""

    kind: HitKind
    method: str
    secret: str
    query: bytes
    body: bytes | None
    source_ip: IPv4Address | IPv6Address | None
    received_at: datetime
    content_type: str | None = None
    signature: str | None = None
    cookie_click_id: str | None = None
    # The body was longer than allowed and left unread (`body` is then None).
    body_too_large: bool = False


@dataclass(frozen=True, slots=True)
class TypeRule:
    id: int
    counts_as_conversion: bool
    counts_in_revenue: bool
    duplicate_policy: DuplicatePolicy


@dataclass(frozen=True, slots=True)
class ForwardRule:
    """An enabled forward template: which statuses of its events go to its traffic source."""

    template_id: int
    statuses: frozenset[ConversionStatus]


@dataclass(frozen=True, slots=True)
class WorkspaceRules:
    """A workspace as postbacks need it; cached briefly per process."""

    id: int
    currency: str
    ip_allowlist: tuple[IPv4Network | IPv6Network, ...]
    signing_secret: str | None
    status_aliases: dict[str, str]
    types: dict[str, TypeRule]
    # Enabled forward templates by (traffic source id, conversion type id).
    forwarding: dict[tuple[int, int], ForwardRule] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Report:
    """The fields of a postback after validation."""

    click_id: str
    click_created_at: datetime
    type_name: str
    txid: str
    status: ConversionStatus | None
    amount: Decimal | None
    currency: str | None
    params: dict[str, str]
    # When the event happened, as an upload's row says; a postback's is when it arrives.
    occurred_at: datetime | None = None


# (workspace, click time, click id): how a click is found.
ClickKey = tuple[int, datetime, str]
# (workspace, click time, click id, type, dedup txid): the unique key of a conversion event.
EventKey = tuple[int, datetime, str, int, str]


@dataclass(frozen=True, slots=True)
class NewEvent:
    """A conversion event as a report asks for it, before deduplication."""

    workspace_id: int
    click_created_at: datetime
    click_id: str
    # The click's traffic source, whose forward templates may send the event on.
    traffic_source_id: int | None
    type_id: int
    duplicate_policy: DuplicatePolicy
    txid: str
    dedup_txid: str
    status: ConversionStatus
    amount: Decimal
    original_amount: Decimal | None
    original_currency: str
    received_at: datetime
    # Every parameter of the report.
    params: dict[str, str]
    # The campaign's terms for this event; its cost follows its amount.
    cost_terms: EventCost
    # The click's values of the rollup dimensions (models.rollups.DIMENSIONS).
    click_dimensions: tuple[Any, ...]
    # The window only stops new events: a status change or chargeback of a stored one may
    # come months after the click.
    attribution_window_days: int

    @property
    def cost(self) -> Decimal:
        return self.cost_terms.of(self.amount)

    @property
    def within_window(self) -> bool:
        return self.received_at - self.click_created_at <= timedelta(
            days=self.attribution_window_days
        )

    @property
    def added_txids(self) -> list[str]:
        """What a new event records as summed: its txid, when its type adds amounts."""
        adds = self.duplicate_policy is DuplicatePolicy.ADD_AMOUNT
        return [self.txid] if adds and self.txid else []

    @property
    def key(self) -> EventKey:
        return (
            self.workspace_id,
            self.click_created_at,
            self.click_id,
            self.type_id,
            self.dedup_txid,
        )


@dataclass(frozen=True, slots=True)
class ClickFacts:
    created_at: datetime
    traffic_source_id: int | None
    attribution_window_days: int
    offer_payout: Decimal | None
    offer_currency: str | None
    cost_model: CostModel
    cost_value: Decimal
    # The click's values of the rollup dimensions (models.rollups.DIMENSIONS).
    dimensions: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    created_at: datetime
    status: ConversionStatus
    amount: Decimal
    original_amount: Decimal | None
    txid: str
    added_txids: list[str]
    cost: Decimal


@dataclass(frozen=True, slots=True)
class Outcome:
    outcome: HitOutcome
    # Stable machine code: accepted, updated, duplicate, unknown_click, bad_secret, ...
    reason: str
    detail: str
    http_status: int
    workspace_id: int | None = None
    click_id: str | None = None
    event_id: int | None = None


@dataclass(frozen=True, slots=True)
class RateSpan:
    """A stored currency rate and the times it applies to: from valid_from until the next
    rate's (None: no later rate)."""

    rate: Decimal
    valid_from: datetime
    until: datetime | None

    def covers(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.until is None or at < self.until)


@dataclass(frozen=True, slots=True)
class NewForward:
    """An outbox row: an event stored, or its status changed, that a template sends on."""

    event: NewEvent
    template_id: int
    event_id: int
    status: ConversionStatus
    amount: Decimal
    txid: str
