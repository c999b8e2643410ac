"""Conversion events: every step a click leads to, partitioned by the month of the click.

Two copies of one postback always carry the same click id, hence the same click time, hence
land in the same partition: the dedup key holds across months.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    ForeignKeyConstraint,
    Index,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import (
    currency_column,
    enum_column,
    identity_column,
    money_column,
    timestamp_column,
    workspace_id_column,
)
from models.enums import ConversionStatus


class ConversionEvent(SQLModel, table=True):
    """A conversion, transaction or custom event reported for a click."""

    __tablename__ = "conversion_events"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "click_created_at", "click_id"],
            ["clicks.workspace_id", "clicks.created_at", "clicks.id"],
        ),
        ForeignKeyConstraint(
            ["workspace_id", "type_id"], ["conversion_types.workspace_id", "conversion_types.id"]
        ),
        UniqueConstraint(
            "workspace_id",
            "click_created_at",
            "click_id",
            "type_id",
            "dedup_txid",
            name="uq_conversion_events_dedup",
        ),
        Index(None, "workspace_id", "created_at"),
        {"postgresql_partition_by": "RANGE (click_created_at)"},
    )

    workspace_id: int = Field(sa_column=workspace_id_column())
    click_created_at: datetime = Field(
        sa_column=timestamp_column(primary_key=True, default_now=False)
    )
    id: int | None = Field(default=None, sa_column=identity_column())
    click_id: str = Field(sa_column=Column(Text, nullable=False))
    type_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    # The transaction id as the network sent it (empty when it sent none).
    txid: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # The txid part of the dedup key: the txid for types with one event per txid, empty for
    # types with one event per click (see models.conversion_rules).
    dedup_txid: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # Every txid an add_amount event has summed, so that a network's retry of any of them, not
    # only of the last, adds nothing.
    added_txids: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}")
    )
    status: ConversionStatus = Field(
        default=ConversionStatus.APPROVED,
        sa_column=enum_column(ConversionStatus, default=ConversionStatus.APPROVED),
    )
    # In the workspace currency; the amount as sent is kept beside it.
    amount: Decimal = Field(default=Decimal(0), sa_column=money_column())
    original_amount: Decimal | None = Field(default=None, sa_column=money_column(nullable=True))
    original_currency: str | None = Field(default=None, sa_column=currency_column(nullable=True))
    # What the traffic source is paid for this event (CPA and RevShare campaigns; clicks carry
    # CPC and CPM cost), in the workspace currency, fixed when the event is recorded.
    cost: Decimal = Field(default=Decimal(0), sa_column=money_column())
    created_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    updated_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    params: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
