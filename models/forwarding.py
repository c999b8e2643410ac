"""Forwarding conversions to the traffic source: templates, the outbox and its attempts.

A traffic source's templates say, per conversion type, where to send an outgoing postback and
when. Ingestion writes an outbox row (`forwards`) in the transaction that stores the event or
its status change; the forwarder (`clicktrail serve-forwarder`) claims due rows, sends them
and records each attempt. `forwarding_workspaces` is how the forwarder finds the workspaces
whose outboxes to claim from without a statement spanning every workspace (see forwarder/).
"""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from models.base import (
    enum_column,
    identity_column,
    money_column,
    timestamp_column,
    workspace_id_column,
)
from models.click import SUB_COLUMNS
from models.directory import REFERENCE
from models.enums import ConversionStatus, ForwardMethod, ForwardState

# The macros a template may use; {sub1}..{subN} follow the click's sub columns.
MACROS = (
    "external_id",
    "clickid",
    "payout",
    "revenue",
    "currency",
    "type",
    "txid",
    "status",
    "campaign_id",
    "event_id",
    *SUB_COLUMNS,
)


class ForwardTemplate(SQLModel, table=True):
    """Where and when to tell a traffic source about one conversion type's events."""

    __tablename__ = "forward_templates"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "traffic_source_id"],
            ["traffic_sources.workspace_id", "traffic_sources.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "conversion_type_id"],
            ["conversion_types.workspace_id", "conversion_types.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("workspace_id", "traffic_source_id", "conversion_type_id"),
        CheckConstraint("payout_share BETWEEN 0 AND 100", name="payout_share"),
        CheckConstraint("payout_override IS NULL OR payout_share IS NULL", name="one_payout_rule"),
    )

    workspace_id: int = Field(sa_column=workspace_id_column())
    id: int | None = Field(default=None, sa_column=identity_column())
    traffic_source_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    conversion_type_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    url: str = Field(sa_column=Column(Text, nullable=False))
    method: ForwardMethod = Field(
        default=ForwardMethod.GET,
        sa_column=enum_column(ForwardMethod, default=ForwardMethod.GET),
    )
    # The event statuses that are sent: a new event in one of them, or a change into one.
    statuses: list[ConversionStatus] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    # {payout}: this fixed amount, or this percent of the revenue, or (neither) the revenue.
    payout_override: Decimal | None = Field(default=None, sa_column=money_column(nullable=True))
    payout_share: Decimal | None = Field(
        default=None, sa_column=Column(Numeric(9, 4), nullable=True)
    )
    enabled: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default="true")
    )
    created_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    updated_at: datetime | None = Field(default=None, sa_column=timestamp_column())


class Forward(SQLModel, table=True):
    """An outgoing postback in the outbox: one event, or one status change of it, for one
    template. Its id is the `{event_id}` macro: stable across retries, so a source can
    deduplicate what at-least-once delivery sends twice."""

    __tablename__ = "forwards"
    __table_args__ = (
        # Not cascading: a template with history is disabled, not deleted.
        ForeignKeyConstraint(
            ["workspace_id", "template_id"],
            ["forward_templates.workspace_id", "forward_templates.id"],
        ),
        # What the forwarder claims: due rows of one workspace, oldest first.
        Index(
            "ix_forwards_due",
            "workspace_id",
            "next_attempt_at",
            postgresql_where=text("state = 'pending'"),
        ),
        Index(None, "workspace_id", "conversion_event_id"),
        Index(None, "workspace_id", "created_at"),
    )

    workspace_id: int = Field(sa_column=workspace_id_column())
    id: int | None = Field(default=None, sa_column=identity_column())
    template_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    traffic_source_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    conversion_type_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    # The event, found through its click (conversion events are partitioned by click time).
    conversion_event_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    click_created_at: datetime = Field(sa_column=timestamp_column(default_now=False))
    click_id: str = Field(sa_column=Column(Text, nullable=False))
    # The event as it was when this forward was written: a later change is a forward of its own.
    event_status: ConversionStatus = Field(sa_column=enum_column(ConversionStatus))
    amount: Decimal = Field(sa_column=money_column())
    txid: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    state: ForwardState = Field(
        default=ForwardState.PENDING,
        sa_column=enum_column(ForwardState, default=ForwardState.PENDING),
    )
    # Attempts made (a replay starts again from 0).
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # When it is due; while a forwarder holds it, when that claim lapses.
    next_attempt_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    created_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    delivered_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    last_status_code: int | None = Field(
        default=None, sa_column=Column(SmallInteger, nullable=True)
    )
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ForwardAttempt(SQLModel, table=True):
    """One try at sending a forward, as the forwarder saw it."""

    __tablename__ = "forward_attempts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "forward_id"],
            ["forwards.workspace_id", "forwards.id"],
            ondelete="CASCADE",
        ),
        Index(None, "workspace_id", "forward_id"),
    )

    workspace_id: int = Field(sa_column=workspace_id_column())
    id: int | None = Field(default=None, sa_column=identity_column())
    forward_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    attempted_at: datetime = Field(sa_column=timestamp_column(default_now=False))
    # The URL with secrets masked (see forwarder.masking).
    url: str = Field(sa_column=Column(Text, nullable=False))
    method: ForwardMethod = Field(sa_column=enum_column(ForwardMethod))
    # The HTTP status, or null when no answer came (refused, timed out, connection failed).
    status_code: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    latency_ms: int = Field(sa_column=Column(Integer, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The start of the answer's body, bounded.
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ForwardingWorkspace(SQLModel, table=True):
    """A workspace that has had forward templates: where the forwarder looks for due forwards.

    Written when a template is saved (an admin's mutation, never the postback path); rows are
    only added, like the other directories, so a forward replayed after its template's source
    changed is still found.
    """

    __tablename__ = "forwarding_workspaces"
    __table_args__ = (REFERENCE,)

    workspace_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    created_at: datetime | None = Field(default=None, sa_column=timestamp_column())
