"""Identifiers resolved before the workspace is known: campaign keys, postback secrets, API keys.

Each maps a globally unique identifier to its workspace. The tenant tables stay keyed by
workspace (`campaigns`, `api_keys` point here with a foreign key that includes it), so a
request first reads its workspace here, then touches tenant rows with `workspace_id = $n`.
On Citus these are reference tables: a unique key without `workspace_id` cannot live on a
distributed one, and a reference table may not point at a distributed one, hence no foreign
key to `workspaces` (workspaces are never deleted).

Rows are only ever added: a campaign key stays its workspace's after the campaign is deleted,
so links still out in ads can never start sending visitors to another workspace.
"""

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import timestamp_column

# Read by models.distribution: on Citus every node holds a copy of these.
REFERENCE = {"info": {"distribution": "reference"}}


def _owner() -> "Column[int]":
    return Column(BigInteger, nullable=False)


class CampaignKey(SQLModel, table=True):
    """A tracking link's key and the workspace it belongs to, for good."""

    __tablename__ = "campaign_keys"
    # The target of campaigns' foreign key, which makes a key name one workspace's campaigns.
    __table_args__ = (UniqueConstraint("workspace_id", "key"), REFERENCE)

    key: str = Field(sa_column=Column(Text, primary_key=True))
    workspace_id: int = Field(sa_column=_owner())
    created_at: datetime | None = Field(default=None, sa_column=timestamp_column())


class PostbackSecret(SQLModel, table=True):
    """A secret in postback and pixel URLs; after a rotation the old one works until it expires."""

    __tablename__ = "postback_secrets"
    __table_args__ = (Index(None, "workspace_id"), REFERENCE)

    secret: str = Field(sa_column=Column(Text, primary_key=True))
    workspace_id: int = Field(sa_column=_owner())
    created_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    expires_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))


class ApiKeyHash(SQLModel, table=True):
    """The SHA-256 of an API key's secret and the workspace whose key it is."""

    __tablename__ = "api_key_hashes"
    __table_args__ = (UniqueConstraint("workspace_id", "secret_hash"), REFERENCE)

    secret_hash: bytes = Field(sa_column=Column(LargeBinary, primary_key=True))
    workspace_id: int = Field(sa_column=_owner())
