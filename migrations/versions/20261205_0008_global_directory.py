"""global directory: campaign keys, postback secrets and API key hashes unique across workspaces

A tracking link carries only its campaign key, and campaign keys were unique per workspace:
another workspace could create a campaign with the same key and take the link's traffic.
`campaign_keys` now names each key's workspace, for good; `campaigns` points at it. Postback
secrets become their own directory (keyed by the secret alone) and API key hashes get one.
None of them has a foreign key to `workspaces`: on Citus they are reference tables, which
may not point at the distributed `workspaces`.

A key that several workspaces' campaigns used stays with the oldest campaign (the link that
was live first); the others get a new key, logged here as a warning naming each of them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 10:00:00.000000
"""

import logging
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("clicktrail.migrations")


def _rekey_shared_campaign_keys() -> None:
    conn = op.get_bind()
    shared = conn.execute(
        sa.text(
            """
            SELECT * FROM (
                SELECT workspace_id, id, name, key,
                       first_value(workspace_id) OVER same_key AS keeper_workspace,
                       first_value(id) OVER same_key AS keeper_id
                FROM campaigns
                WINDOW same_key AS (PARTITION BY key ORDER BY created_at, workspace_id, id)
            ) AS c
            WHERE (workspace_id, id) <> (keeper_workspace, keeper_id)
            ORDER BY key, workspace_id, id
            """
        )
    ).all()
    taken = set(conn.execute(sa.text("SELECT key FROM campaigns")).scalars())
    for row in shared:
        new_key = row.key
        while new_key in taken:
            new_key = f"{row.key[:52]}-{secrets.token_hex(5)}"
        taken.add(new_key)
        conn.execute(
            sa.text("UPDATE campaigns SET key = :new WHERE workspace_id = :w AND id = :id"),
            {"new": new_key, "w": row.workspace_id, "id": row.id},
        )
        log.warning(
            "campaign key %r was used in several workspaces: workspace %s campaign %s (the "
            "oldest) keeps it; workspace %s campaign %s %r now has the key %r, so its tracking "
            "link is /c/%s",
            row.key,
            row.keeper_workspace,
            row.keeper_id,
            row.workspace_id,
            row.id,
            row.name,
            new_key,
            new_key,
        )


def _refuse_shared(table: str, column: str) -> None:
    """Secrets and key hashes are 192 to 256 random bits: one in two workspaces was put there
    by hand, and which workspace it should authenticate is not for a migration to guess."""
    shared = (
        op.get_bind()
        .execute(
            sa.text(
                f"SELECT {column}, array_agg(workspace_id ORDER BY workspace_id) FROM {table} "  # noqa: S608
                f"GROUP BY {column} HAVING count(DISTINCT workspace_id) > 1"
            )
        )
        .all()
    )
    if shared:
        workspaces = "; ".join(f"workspaces {', '.join(map(str, ids))}" for _, ids in shared)
        raise RuntimeError(
            f"{table}.{column} values are shared between workspaces ({workspaces}); delete the "
            "copies that do not belong, then upgrade again"
        )


def upgrade() -> None:
    _refuse_shared("postback_secrets", "secret")
    _refuse_shared("api_keys", "secret_hash")

    op.create_table(
        "campaign_keys",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_campaign_keys")),
        sa.UniqueConstraint("workspace_id", "key", name=op.f("uq_campaign_keys_workspace_id_key")),
    )
    _rekey_shared_campaign_keys()
    op.execute(
        "INSERT INTO campaign_keys (key, workspace_id, created_at) "
        "SELECT key, workspace_id, created_at FROM campaigns"
    )
    op.create_foreign_key(
        op.f("fk_campaigns_campaign_keys"),
        "campaigns",
        "campaign_keys",
        ["workspace_id", "key"],
        ["workspace_id", "key"],
    )
    op.drop_index(op.f("ix_campaigns_key"), table_name="campaigns")

    op.drop_constraint(op.f("fk_postback_secrets_workspaces"), "postback_secrets")
    op.drop_constraint(op.f("pk_postback_secrets"), "postback_secrets", type_="primary")
    op.create_primary_key(op.f("pk_postback_secrets"), "postback_secrets", ["secret"])
    op.drop_index(op.f("ix_postback_secrets_secret"), table_name="postback_secrets")
    op.create_index(op.f("ix_postback_secrets_workspace_id"), "postback_secrets", ["workspace_id"])

    op.create_table(
        "api_key_hashes",
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("secret_hash", name=op.f("pk_api_key_hashes")),
        sa.UniqueConstraint(
            "workspace_id", "secret_hash", name=op.f("uq_api_key_hashes_workspace_id_secret_hash")
        ),
    )
    op.execute(
        "INSERT INTO api_key_hashes (secret_hash, workspace_id) "
        "SELECT DISTINCT secret_hash, workspace_id FROM api_keys"
    )
    op.create_foreign_key(
        op.f("fk_api_keys_api_key_hashes"),
        "api_keys",
        "api_key_hashes",
        ["workspace_id", "secret_hash"],
        ["workspace_id", "secret_hash"],
    )
    op.drop_index(op.f("ix_api_keys_secret_hash"), table_name="api_keys")
    op.create_index(
        op.f("ix_api_keys_workspace_id_secret_hash"), "api_keys", ["workspace_id", "secret_hash"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_api_keys_workspace_id_secret_hash"), table_name="api_keys")
    op.create_index(op.f("ix_api_keys_secret_hash"), "api_keys", ["secret_hash"])
    op.drop_constraint(op.f("fk_api_keys_api_key_hashes"), "api_keys", type_="foreignkey")
    op.drop_table("api_key_hashes")

    op.drop_index(op.f("ix_postback_secrets_workspace_id"), table_name="postback_secrets")
    op.create_index(op.f("ix_postback_secrets_secret"), "postback_secrets", ["secret"])
    op.drop_constraint(op.f("pk_postback_secrets"), "postback_secrets", type_="primary")
    op.create_primary_key(
        op.f("pk_postback_secrets"), "postback_secrets", ["workspace_id", "secret"]
    )
    op.create_foreign_key(
        op.f("fk_postback_secrets_workspaces"),
        "postback_secrets",
        "workspaces",
        ["workspace_id"],
        ["id"],
        ondelete="CASCADE",
    )

    op.create_index(op.f("ix_campaigns_key"), "campaigns", ["key"])
    op.drop_constraint(op.f("fk_campaigns_campaign_keys"), "campaigns", type_="foreignkey")
    op.drop_table("campaign_keys")
