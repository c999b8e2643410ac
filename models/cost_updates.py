"""Cost updates: a campaign's click costs set after the fact, recorded, applied in batches.

A request is recorded, then planned in chunks: each chunk reads a bounded number of the
campaign's clicks after the plan's cursor, in primary-key order, counts the matching ones, cuts
them into batches of consecutive keys (``CostUpdateBatch``) and moves the cursor, in one
transaction; so a plan interrupted anywhere resumes at its cursor and counts no click twice.
Each batch is then applied in a transaction of its own that also marks it applied, so a batch
is applied once whatever crashes in between, and whoever resumes the update (an ingestion
process's worker, the CLI) takes the batches not yet applied.
"""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CHAR,
    BigInteger,
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
    timestamp_column,
    workspace_id_column,
)
from models.directory import REFERENCE
from models.enums import CostUpdateMode

# Sums of many clicks' costs (each below 10^12), to the cost column's scale.
MONEY_TOTAL = Numeric(38, 6)


def _total_column() -> "Column[Decimal]":
    return Column(MONEY_TOTAL, nullable=False, server_default="0")


class CostUpdate(SQLModel, table=True):
    """One request to set the cost of a campaign's clicks over a time range, and its outcome."""

    __tablename__ = "cost_updates"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "campaign_id"], ["campaigns.workspace_id", "campaigns.id"]
        ),
        ForeignKeyConstraint(
            ["workspace_id", "traffic_source_id"],
            ["traffic_sources.workspace_id", "traffic_sources.id"],
        ),
        # A client's retry names the same request id: it finds this update, not a new one.
        UniqueConstraint("workspace_id", "request_id"),
        CheckConstraint("sub_number BETWEEN 1 AND 20", name="sub_number"),
    )

    workspace_id: int = Field(sa_column=workspace_id_column())
    id: int | None = Field(default=None, sa_column=identity_column())
    created_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    # Who asked: an API key, or the CLI (null).
    api_key_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    request_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    campaign_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    # Clicks from `starts_at` (inclusive) to `ends_at` (exclusive), narrowed by the filters.
    starts_at: datetime = Field(sa_column=timestamp_column(default_now=False))
    ends_at: datetime = Field(sa_column=timestamp_column(default_now=False))
    traffic_source_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    country: str | None = Field(default=None, sa_column=Column(CHAR(2), nullable=True))
    sub_number: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    sub_value: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    mode: CostUpdateMode = Field(sa_column=enum_column(CostUpdateMode))
    # As requested, and in the workspace currency at `rate` (the one valid at `starts_at`;
    # each click's cost is converted at the rate valid at the click's time).
    amount: Decimal = Field(sa_column=Column(MONEY_TOTAL, nullable=False))
    currency: str = Field(sa_column=currency_column())
    rate: Decimal = Field(sa_column=Column(Numeric(20, 10), nullable=False))
    converted_amount: Decimal = Field(sa_column=Column(MONEY_TOTAL, nullable=False))
    # Matching clicks planned (so far, while `planned_at` is null), and what applying the
    # batches found and did so far.
    planned_clicks: int = Field(sa_column=Column(BigInteger, nullable=False))
    clicks_touched: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )
    old_total: Decimal = Field(default=Decimal(0), sa_column=_total_column())
    new_total: Decimal = Field(default=Decimal(0), sa_column=_total_column())
    # Of a total, the part spread so far, in `currency` (each click's part is converted at the
    # rate valid at the click's time, so `new_total` alone cannot tell it).
    spread_amount: Decimal = Field(default=Decimal(0), sa_column=_total_column())
    batches: int = Field(sa_column=Column(Integer, nullable=False))
    batches_applied: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    finished_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    # When the plan was finished; till then the last click key its chunks have read.
    planned_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    plan_cursor_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    plan_cursor_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class CostUpdateBatch(SQLModel, table=True):
    """Consecutive matching clicks of an update, up to and including one primary key."""

    __tablename__ = "cost_update_batches"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "update_id"],
            ["cost_updates.workspace_id", "cost_updates.id"],
            ondelete="CASCADE",
        ),
    )

    workspace_id: int = Field(sa_column=workspace_id_column())
    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    # From 0, in key order; the batch starts after the previous batch's last key.
    batch: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    last_created_at: datetime = Field(sa_column=timestamp_column(default_now=False))
    last_id: str = Field(sa_column=Column(Text, nullable=False))
    # Matching clicks planned up to and including this batch.
    planned_through: int = Field(sa_column=Column(BigInteger, nullable=False))
    applied_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    clicks_touched: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )
    old_total: Decimal = Field(default=Decimal(0), sa_column=_total_column())
    new_total: Decimal = Field(default=Decimal(0), sa_column=_total_column())


class CostUpdateQueueEntry(SQLModel, table=True):
    """An update with batches left to apply. Workers look here across every workspace, which a
    tenant table cannot answer in one shard on Citus: a reference table can."""

    __tablename__ = "cost_update_queue"
    __table_args__ = (REFERENCE,)

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    workspace_id: int = Field(sa_column=Column(BigInteger, nullable=False))
