"""conversion uploads: jobs, their rows, the queue of unfinished jobs, and `upload` log hits

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-05 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.distribution import distribute

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS_BEFORE = ("postback", "pixel")
_KINDS = (*_KINDS_BEFORE, "upload")


def _kind_check(kinds: Sequence[str]) -> None:
    op.drop_constraint(op.f("ck_postback_log_hitkind"), "postback_log", type_="check")
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    op.create_check_constraint(
        op.f("ck_postback_log_hitkind"), "postback_log", f"kind IN ({listed})"
    )


def upgrade() -> None:
    _kind_check(_KINDS)
    op.create_table(
        "upload_jobs",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("format", sa.Text(), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("processed_rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("accepted", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("duplicate", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rejected", sa.Integer(), server_default="0", nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_through", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_upload_jobs")),
        sa.UniqueConstraint(
            "workspace_id", "digest", name=op.f("uq_upload_jobs_workspace_id_digest")
        ),
    )
    op.create_table(
        "upload_rows",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("job_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("line", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("query", sa.Text(), server_default="", nullable=False),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.Column("refusal", sa.Text(), nullable=True),
        sa.Column("refusal_detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id", "job_id"],
            ["upload_jobs.workspace_id", "upload_jobs.id"],
            name=op.f("fk_upload_rows_upload_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "job_id", "line", name=op.f("pk_upload_rows")),
    )
    op.create_table(
        "upload_results",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("job_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("line", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id", "job_id"],
            ["upload_jobs.workspace_id", "upload_jobs.id"],
            name=op.f("fk_upload_results_upload_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "job_id", "line", name=op.f("pk_upload_results")),
    )
    op.create_table(
        "upload_queue",
        sa.Column("job_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_upload_queue")),
    )
    distribute(op.get_bind(), ["upload_queue", "upload_jobs", "upload_rows", "upload_results"])


def downgrade() -> None:
    op.drop_table("upload_queue")
    op.drop_table("upload_results")
    op.drop_table("upload_rows")
    op.drop_table("upload_jobs")
    op.execute("DELETE FROM postback_log WHERE kind = 'upload'")
    _kind_check(_KINDS_BEFORE)
