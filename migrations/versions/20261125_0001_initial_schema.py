"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 13:34:07.687034
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "postback_log",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "postback",
                "pixel",
                name="hitkind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("source_ip", postgresql.INET(), nullable=True),
        sa.Column("query", sa.Text(), server_default="", nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("click_id", sa.Text(), nullable=True),
        sa.Column("conversion_event_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "accepted",
                "updated",
                "duplicate",
                "rejected",
                name="hitoutcome",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("http_status", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "received_at", "id", name=op.f("pk_postback_log")),
        postgresql_partition_by="RANGE (received_at)",
    )
    op.create_table(
        "workspaces",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), server_default="UTC", nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("ip_allowlist", sa.ARRAY(postgresql.CIDR()), server_default="{}", nullable=False),
        sa.Column("signing_secret", sa.Text(), nullable=True),
        sa.Column(
            "status_aliases",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
    )
    op.create_table(
        "api_keys",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
        sa.Column("scopes", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_api_keys_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_api_keys")),
    )
    op.create_index(op.f("ix_api_keys_secret_hash"), "api_keys", ["secret_hash"], unique=False)
    op.create_table(
        "conversion_types",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("counts_as_conversion", sa.Boolean(), nullable=False),
        sa.Column("counts_in_revenue", sa.Boolean(), nullable=False),
        sa.Column(
            "duplicate_policy",
            sa.Enum(
                "ignore",
                "new_per_txid",
                "update",
                "add_amount",
                name="duplicatepolicy",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("is_builtin", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("name ~ '^[a-z0-9_]{1,32}$'", name=op.f("ck_conversion_types_name")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_conversion_types_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_conversion_types")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_conversion_types_workspace_id_name")
        ),
    )
    op.create_table(
        "currency_rates",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column(
            "valid_from",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("rate", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.CheckConstraint("rate > 0", name=op.f("ck_currency_rates_rate")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_currency_rates_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "currency", "valid_from", name=op.f("pk_currency_rates")
        ),
    )
    op.create_table(
        "offers",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("payout", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("currency", sa.CHAR(length=3), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "paused",
                "archived",
                name="recordstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="active",
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_offers_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_offers")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_offers_workspace_id_name")),
    )
    op.create_table(
        "postback_secrets",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_postback_secrets_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "secret", name=op.f("pk_postback_secrets")),
    )
    op.create_index(
        op.f("ix_postback_secrets_secret"), "postback_secrets", ["secret"], unique=False
    )
    op.create_table(
        "traffic_sources",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("click_id_param", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "paused",
                "archived",
                name="recordstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="active",
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_traffic_sources_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_traffic_sources")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_traffic_sources_workspace_id_name")
        ),
    )
    op.create_table(
        "campaigns",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("traffic_source_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "cost_model",
            sa.Enum(
                "none",
                "cpc",
                "cpm",
                "cpa",
                "revshare",
                name="costmodel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="none",
            nullable=False,
        ),
        sa.Column(
            "cost_value", sa.Numeric(precision=18, scale=6), server_default="0", nullable=False
        ),
        sa.Column("attribution_window_days", sa.Integer(), server_default="30", nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "paused",
                "archived",
                name="recordstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="active",
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "attribution_window_days BETWEEN 1 AND 365",
            name=op.f("ck_campaigns_attribution_window"),
        ),
        sa.CheckConstraint("cost_value >= 0", name=op.f("ck_campaigns_cost_value")),
        sa.ForeignKeyConstraint(
            ["workspace_id", "traffic_source_id"],
            ["traffic_sources.workspace_id", "traffic_sources.id"],
            name=op.f("fk_campaigns_traffic_sources"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_campaigns_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("workspace_id", "key", name=op.f("uq_campaigns_workspace_id_key")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_campaigns_workspace_id_name")),
    )
    op.create_index(op.f("ix_campaigns_key"), "campaigns", ["key"], unique=False)
    op.create_table(
        "campaign_offers",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("offer_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("weight", sa.Integer(), server_default="100", nullable=False),
        sa.CheckConstraint("weight > 0", name=op.f("ck_campaign_offers_weight")),
        sa.ForeignKeyConstraint(
            ["workspace_id", "campaign_id"],
            ["campaigns.workspace_id", "campaigns.id"],
            name=op.f("fk_campaign_offers_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "offer_id"],
            ["offers.workspace_id", "offers.id"],
            name=op.f("fk_campaign_offers_offers"),
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "campaign_id", "offer_id", name=op.f("pk_campaign_offers")
        ),
    )
    op.create_table(
        "click_fingerprints",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(), nullable=False),
        sa.Column("last_click_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "campaign_id"],
            ["campaigns.workspace_id", "campaigns.id"],
            name=op.f("fk_click_fingerprints_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "campaign_id", "fingerprint", name=op.f("pk_click_fingerprints")
        ),
    )
    op.create_index(
        op.f("ix_click_fingerprints_last_click_at"),
        "click_fingerprints",
        ["last_click_at"],
        unique=False,
    )
    op.create_table(
        "clicks",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("offer_id", sa.BigInteger(), nullable=True),
        sa.Column("traffic_source_id", sa.BigInteger(), nullable=True),
        sa.Column("ip", postgresql.INET(), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("device_type", sa.Text(), nullable=True),
        sa.Column("os", sa.Text(), nullable=True),
        sa.Column("browser", sa.Text(), nullable=True),
        sa.Column("is_bot", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("is_unique", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("country", sa.CHAR(length=2), nullable=True),
        sa.Column("referrer", sa.Text(), nullable=True),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("cost", sa.Numeric(precision=18, scale=6), server_default="0", nullable=False),
        sa.Column("sub1", sa.Text(), nullable=True),
        sa.Column("sub2", sa.Text(), nullable=True),
        sa.Column("sub3", sa.Text(), nullable=True),
        sa.Column("sub4", sa.Text(), nullable=True),
        sa.Column("sub5", sa.Text(), nullable=True),
        sa.Column("sub6", sa.Text(), nullable=True),
        sa.Column("sub7", sa.Text(), nullable=True),
        sa.Column("sub8", sa.Text(), nullable=True),
        sa.Column("sub9", sa.Text(), nullable=True),
        sa.Column("sub10", sa.Text(), nullable=True),
        sa.Column("sub11", sa.Text(), nullable=True),
        sa.Column("sub12", sa.Text(), nullable=True),
        sa.Column("sub13", sa.Text(), nullable=True),
        sa.Column("sub14", sa.Text(), nullable=True),
        sa.Column("sub15", sa.Text(), nullable=True),
        sa.Column("sub16", sa.Text(), nullable=True),
        sa.Column("sub17", sa.Text(), nullable=True),
        sa.Column("sub18", sa.Text(), nullable=True),
        sa.Column("sub19", sa.Text(), nullable=True),
        sa.Column("sub20", sa.Text(), nullable=True),
        sa.Column(
            "params", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "campaign_id"],
            ["campaigns.workspace_id", "campaigns.id"],
            name=op.f("fk_clicks_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "offer_id"],
            ["offers.workspace_id", "offers.id"],
            name=op.f("fk_clicks_offers"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "traffic_source_id"],
            ["traffic_sources.workspace_id", "traffic_sources.id"],
            name=op.f("fk_clicks_traffic_sources"),
        ),
        sa.PrimaryKeyConstraint("workspace_id", "created_at", "id", name=op.f("pk_clicks")),
        postgresql_partition_by="RANGE (created_at)",
    )
    op.create_index(
        op.f("ix_clicks_workspace_id_campaign_id_created_at"),
        "clicks",
        ["workspace_id", "campaign_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "conversion_events",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("click_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("click_id", sa.Text(), nullable=False),
        sa.Column("type_id", sa.BigInteger(), nullable=False),
        sa.Column("txid", sa.Text(), server_default="", nullable=False),
        sa.Column("dedup_txid", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "approved",
                "pending",
                "declined",
                "other",
                name="conversionstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="approved",
            nullable=False,
        ),
        sa.Column("amount", sa.Numeric(precision=18, scale=6), server_default="0", nullable=False),
        sa.Column("original_amount", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("original_currency", sa.CHAR(length=3), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "params", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "click_created_at", "click_id"],
            ["clicks.workspace_id", "clicks.created_at", "clicks.id"],
            name=op.f("fk_conversion_events_clicks"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "type_id"],
            ["conversion_types.workspace_id", "conversion_types.id"],
            name=op.f("fk_conversion_events_conversion_types"),
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "click_created_at", "id", name=op.f("pk_conversion_events")
        ),
        sa.UniqueConstraint(
            "workspace_id",
            "click_created_at",
            "click_id",
            "type_id",
            "dedup_txid",
            name="uq_conversion_events_dedup",
        ),
        postgresql_partition_by="RANGE (click_created_at)",
    )
    op.create_index(
        op.f("ix_conversion_events_workspace_id_created_at"),
        "conversion_events",
        ["workspace_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_conversion_events_workspace_id_created_at"), table_name="conversion_events"
    )
    op.drop_table("conversion_events")
    op.drop_index(op.f("ix_clicks_workspace_id_campaign_id_created_at"), table_name="clicks")
    op.drop_table("clicks")
    op.drop_index(op.f("ix_click_fingerprints_last_click_at"), table_name="click_fingerprints")
    op.drop_table("click_fingerprints")
    op.drop_table("campaign_offers")
    op.drop_index(op.f("ix_campaigns_key"), table_name="campaigns")
    op.drop_table("campaigns")
    op.drop_table("traffic_sources")
    op.drop_index(op.f("ix_postback_secrets_secret"), table_name="postback_secrets")
    op.drop_table("postback_secrets")
    op.drop_table("offers")
    op.drop_table("currency_rates")
    op.drop_table("conversion_types")
    op.drop_index(op.f("ix_api_keys_secret_hash"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("workspaces")
    op.drop_table("postback_log")
