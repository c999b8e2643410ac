"""The tenant and its credentials."""

import re
from datetime import datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    ForeignKeyConstraint,
    Identity,
    Index,
    LargeBinary,
    Text,
)
from sqlalchemy.dialects.postgresql import CIDR, JSONB
from sqlmodel import Field, SQLModel

from models.base import currency_column, identity_column, timestamp_column, workspace_id_column


class Workspace(SQLModel, table=True):
    """A tenant: every other row belongs to exactly one workspace."""

    __tablename__ = "workspaces"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    timezone: str = Field(
        default="UTC", sa_column=Column(Text, nullable=False, server_default="UTC")
    )
    currency: str = Field(default="USD", sa_column=currency_column())
    # Postbacks from other addresses are refused when the list is not empty.
    ip_allowlist: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(CIDR), nullable=False, server_default="{}"),
    )
    # HMAC-SHA256 key; when set, postbacks must carry a valid signature header.
    signing_secret: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # A network's own status words mapped to ours, e.g. {"1": "approved", "rejected": "declined"}.
    status_aliases: dict[str, str] = Field(
        default_factory=dict,
        sa_column=Column(JSONB, nullable=False, server_default="{}"),
    )
    created_at: datetime | None = Field(default=None, sa_column=timestamp_column())


# Every postback secret (models.directory.PostbackSecret) is secrets.token_urlsafe(24): 32
# URL-safe base64 characters. Ingestion refuses any other path segment without a lookup.
POSTBACK_SECRET_BYTES = 24
POSTBACK_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{32}")


class ApiKey(SQLModel, table=True):
    """A GraphQL API key; only the SHA-256 of the secret is kept."""

    __tablename__ = "api_keys"
    __table_args__ = (
        ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        # Resolving a key reads its workspace from api_key_hashes, then this row by both.
        ForeignKeyConstraint(
            ["workspace_id", "secret_hash"],
            ["api_key_hashes.workspace_id", "api_key_hashes.secret_hash"],
        ),
        Index(None, "workspace_id", "secret_hash"),
    )

    workspace_id: int = Field(sa_column=workspace_id_column())
    id: int | None = Field(default=None, sa_column=identity_column())
    name: str = Field(sa_column=Column(Text, nullable=False))
    # Shown in listings so a user can tell keys apart without the secret.
    prefix: str = Field(sa_column=Column(Text, nullable=False))
    secret_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    scopes: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    last_used_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
