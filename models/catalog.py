"""What a workspace configures: traffic sources, offers, campaigns, conversion types, rates."""

import re
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from models.base import (
    currency_column,
    enum_column,
    identity_column,
    money_column,
    timestamp_column,
    workspace_id_column,
)
from models.enums import CostModel, DuplicatePolicy, RecordStatus

# What a campaign key may be: the tracking link's path segment. Ingestion refuses anything else
# before the database (where a NUL would fail the lookup itself).
CAMPAIGN_KEY = re.compile(r"[A-Za-z0-9_-]{4,64}")


def _workspace_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE")


class TrafficSource(SQLModel, table=True):
    """Where paid traffic comes from (an ad network, a push platform, ...)."""

    __tablename__ = "traffic_sources"
    __table_args__ = (_workspace_fk(), UniqueConstraint("workspace_id", "name"))

    workspace_id: int = Field(sa_column=workspace_id_column())
    id: int | None = Field(default=None, sa_column=identity_column())
    name: str = Field(sa_column=Column(Text, nullable=False))
    # Query parameter that carries the source's own click id, e.g. "gclid".
    click_id_param: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: RecordStatus = Field(
        default=RecordStatus.ACTIVE,
        sa_column=enum_column(RecordStatus, default=RecordStatus.ACTIVE),
    )
    created_at: datetime | None = Field(default=None, sa_column=timestamp_column())


class Offer(SQLModel, table=True):
    """A destination: URL template with macros such as {clickid} and {sub1}."""

    __tablename__ = "offers"
    __table_args__ = (_workspace_fk(), UniqueConstraint("workspace_id", "name"))

    workspace_id: int = Field(sa_column=workspace_id_column())
    id: int | None = Field(default=None, sa_column=identity_column())
    name: str = Field(sa_column=Column(Text, nullable=False))
    url: str = Field(sa_column=Column(Text, nullable=False))
    # Used when a postback carries no amount.
    payout: Decimal | None = Field(default=None, sa_column=money_column(nullable=True))
    currency: str | None = Field(default=None, sa_column=currency_column(nullable=True))
    status: RecordStatus = Field(
        default=RecordStatus.ACTIVE,
        sa_column=enum_column(RecordStatus, default=RecordStatus.ACTIVE),
    )
    created_at: datetime | None = Field(default=None, sa_column=timestamp_column())


class Campaign(SQLModel, table=True):
    """A tracking link: its key, its source, its offers and what its traffic costs."""

    __tablename__ = "campaigns"
    __table_args__ = (
        _workspace_fk(),
        ForeignKeyConstraint(
            ["workspace_id", "traffic_source_id"],
            ["traffic_sources.workspace_id", "traffic_sources.id"],
        ),
        # The key is claimed in campaign_keys first: one workspace's, across all of them.
        ForeignKeyConstraint(
            ["workspace_id", "key"], ["campaign_keys.workspace_id", "campaign_keys.key"]
        ),
        UniqueConstraint("workspace_id", "key"),
        UniqueConstraint("workspace_id", "name"),
        CheckConstraint("attribution_window_days BETWEEN 1 AND 365", name="attribution_window"),
        CheckConstraint("cost_value >= 0", name="cost_value"),
        CheckConstraint("cost_model <> 'revshare' OR cost_value <= 100", name="revshare_percent"),
    )

    workspace_id: int = Field(sa_column=workspace_id_column())
    id: int | None = Field(default=None, sa_column=identity_column())
    key: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    traffic_source_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    cost_model: CostModel = Field(
        default=CostModel.NONE, sa_column=enum_column(CostModel, default=CostModel.NONE)
    )
    # Per click (CPC), per thousand clicks (CPM), per conversion (CPA) or a percent of each
    # event's revenue (REVSHARE).
    cost_value: Decimal = Field(default=Decimal(0), sa_column=money_column())
    attribution_window_days: int = Field(
        default=30, sa_column=Column(Integer, nullable=False, server_default="30")
    )
    status: RecordStatus = Field(
        default=RecordStatus.ACTIVE,
        sa_column=enum_column(RecordStatus, default=RecordStatus.ACTIVE),
    )
    created_at: datetime | None = Field(default=None, sa_column=timestamp_column())


class CampaignOffer(SQLModel, table=True):
    """An offer a campaign rotates to, with its weight."""

    __tablename__ = "campaign_offers"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "campaign_id"],
            ["campaigns.workspace_id", "campaigns.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(["workspace_id", "offer_id"], ["offers.workspace_id", "offers.id"]),
        CheckConstraint("weight > 0", name="weight"),
    )

    workspace_id: int = Field(sa_column=workspace_id_column())
    campaign_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    offer_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    weight: int = Field(
        default=100, sa_column=Column(Integer, nullable=False, server_default="100")
    )


class ConversionType(SQLModel, table=True):
    """A kind of event a click can lead to: `conversion`, `transaction` or a custom one."""

    __tablename__ = "conversion_types"
    __table_args__ = (
        _workspace_fk(),
        UniqueConstraint("workspace_id", "name"),
        CheckConstraint("name ~ '^[a-z0-9_]{1,32}$'", name="name"),
    )

    workspace_id: int = Field(sa_column=workspace_id_column())
    id: int | None = Field(default=None, sa_column=identity_column())
    name: str = Field(sa_column=Column(Text, nullable=False))
    counts_as_conversion: bool = Field(sa_column=Column(Boolean, nullable=False))
    counts_in_revenue: bool = Field(sa_column=Column(Boolean, nullable=False))
    duplicate_policy: DuplicatePolicy = Field(sa_column=enum_column(DuplicatePolicy))
    # Built-in types (`conversion`, `transaction`) exist in every workspace and cannot be deleted.
    is_builtin: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    created_at: datetime | None = Field(default=None, sa_column=timestamp_column())


class CurrencyRate(SQLModel, table=True):
    """Units of workspace currency one unit of `currency` is worth, from `valid_from` on."""

    __tablename__ = "currency_rates"
    __table_args__ = (_workspace_fk(), CheckConstraint("rate > 0", name="rate"))

    workspace_id: int = Field(sa_column=workspace_id_column())
    currency: str = Field(sa_column=currency_column(primary_key=True))
    valid_from: datetime = Field(sa_column=timestamp_column(primary_key=True))
    rate: Decimal = Field(sa_column=Column(Numeric(20, 10), nullable=False))


# Every workspace has these; postbacks without a type are `conversion`.
DEFAULT_CONVERSION_TYPE = "conversion"
TRANSACTION_TYPE = "transaction"


def builtin_conversion_types(workspace_id: int) -> list[ConversionType]:
    """The primary conversion (first one per click wins) and transactions (one event per txid)."""
    return [
        ConversionType(
            workspace_id=workspace_id,
            name=DEFAULT_CONVERSION_TYPE,
            counts_as_conversion=True,
            counts_in_revenue=True,
            duplicate_policy=DuplicatePolicy.IGNORE,
            is_builtin=True,
        ),
        ConversionType(
            workspace_id=workspace_id,
            name=TRANSACTION_TYPE,
            counts_as_conversion=False,
            counts_in_revenue=True,
            duplicate_policy=DuplicatePolicy.NEW_PER_TXID,
            is_builtin=True,
        ),
    ]
