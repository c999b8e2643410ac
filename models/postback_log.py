"""The postback log: every postback and pixel hit, accepted or refused, partitioned by month."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, SmallInteger, Text
from sqlalchemy.dialects.postgresql import INET
from sqlmodel import Field, SQLModel

from models.base import enum_column, identity_column, timestamp_column, workspace_id_column
from models.enums import HitKind, HitOutcome

# Hits whose secret matched no workspace are still logged, under this workspace id.
UNKNOWN_WORKSPACE_ID = 0


class PostbackLogEntry(SQLModel, table=True):
    """What a network sent and what clicktrail answered, with a stable reason code."""

    __tablename__ = "postback_log"
    __table_args__ = ({"postgresql_partition_by": "RANGE (received_at)"},)

    workspace_id: int = Field(sa_column=workspace_id_column())
    received_at: datetime | None = Field(default=None, sa_column=timestamp_column(primary_key=True))
    id: int | None = Field(default=None, sa_column=identity_column())
    kind: HitKind = Field(sa_column=enum_column(HitKind))
    method: str = Field(sa_column=Column(Text, nullable=False))
    source_ip: str | None = Field(default=None, sa_column=Column(INET, nullable=True))
    query: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    click_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    conversion_event_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True)
    )
    outcome: HitOutcome = Field(sa_column=enum_column(HitOutcome))
    # Stable machine code: accepted, duplicate, unknown_click, bad_secret, outside_window, ...
    reason: str = Field(sa_column=Column(Text, nullable=False))
    http_status: int = Field(sa_column=Column(SmallInteger, nullable=False))
