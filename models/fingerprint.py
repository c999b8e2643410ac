"""Visitor fingerprints per campaign: what makes a click unique or a repeat."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKeyConstraint, Index, LargeBinary
from sqlmodel import Field, SQLModel

from models.base import timestamp_column, workspace_id_column


class ClickFingerprint(SQLModel, table=True):
    """The last click of one IP + user agent on one campaign (hashed; no personal data kept)."""

    __tablename__ = "click_fingerprints"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "campaign_id"],
            ["campaigns.workspace_id", "campaigns.id"],
            ondelete="CASCADE",
        ),
        # Pruning deletes by age.
        Index(None, "last_click_at"),
    )

    workspace_id: int = Field(sa_column=workspace_id_column())
    campaign_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    fingerprint: bytes = Field(sa_column=Column(LargeBinary, primary_key=True))
    last_click_at: datetime = Field(sa_column=timestamp_column(default_now=False))
