"""Clicks: the highest-volume table, range-partitioned by month of click time."""

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, ForeignKeyConstraint, Index, Text
from sqlalchemy.dialects.postgresql import CHAR, INET, JSONB
from sqlmodel import Field, SQLModel

from models.base import money_column, timestamp_column, workspace_id_column


class Click(SQLModel, table=True):
    """One visit through a tracking link."""

    __tablename__ = "clicks"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "campaign_id"], ["campaigns.workspace_id", "campaigns.id"]
        ),
        ForeignKeyConstraint(["workspace_id", "offer_id"], ["offers.workspace_id", "offers.id"]),
        ForeignKeyConstraint(
            ["workspace_id", "traffic_source_id"],
            ["traffic_sources.workspace_id", "traffic_sources.id"],
        ),
        Index(None, "workspace_id", "campaign_id", "created_at"),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )

    workspace_id: int = Field(sa_column=workspace_id_column())
    # The partition key; encoded in the id (see models.click_ids).
    created_at: datetime = Field(sa_column=timestamp_column(primary_key=True, default_now=False))
    id: str = Field(sa_column=Column(Text, primary_key=True))
    campaign_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    offer_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    traffic_source_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    ip: str | None = Field(default=None, sa_column=Column(INET, nullable=True))
    user_agent: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    device_type: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    os: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    browser: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    is_bot: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    is_unique: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default="true")
    )
    country: str | None = Field(default=None, sa_column=Column(CHAR(2), nullable=True))
    referrer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The traffic source's own click id, returned to it in its postback.
    external_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # In the workspace currency.
    cost: Decimal = Field(default=Decimal(0), sa_column=money_column())
    sub1: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub2: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub3: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub4: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub5: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub6: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub7: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub8: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub9: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub10: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub11: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub12: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub13: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub14: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub15: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub16: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub17: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub18: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub19: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sub20: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Every incoming query parameter, for {param} macros and later inspection.
    params: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )


# The table's columns in order (what a COPY of whole rows names), and its sub1..subN.
CLICK_COLUMNS: tuple[str, ...] = tuple(column.name for column in Click.__table__.columns)  # type: ignore[attr-defined]
SUB_COLUMNS: tuple[str, ...] = tuple(
    name for name in CLICK_COLUMNS if re.fullmatch(r"sub\d+", name)
)
SUB_COUNT = len(SUB_COLUMNS)
# The columns an INSERT may leave out to store NULL: nullable, and no default of their own.
NULL_BY_DEFAULT: frozenset[str] = frozenset(
    column.name
    for column in Click.__table__.columns  # type: ignore[attr-defined]
    if column.nullable and column.server_default is None
)
