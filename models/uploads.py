"""Conversion uploads: a file's rows, stored before the upload is acknowledged, then applied.

A job and all its rows are committed in one transaction before the uploader hears of the job,
so nothing acknowledged can be lost. Each row is applied later through the postback rules in
the same transaction that records its outcome, so a row is applied once whatever crashes in
between: whoever resumes the job takes the rows without an outcome.
"""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKeyConstraint,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from models.base import identity_column, timestamp_column, workspace_id_column
from models.directory import REFERENCE


class UploadJob(SQLModel, table=True):
    """One uploaded file and how far its rows have been applied."""

    __tablename__ = "upload_jobs"
    # The same file uploaded again is the same job: its rows are stored once.
    __table_args__ = (UniqueConstraint("workspace_id", "digest"),)

    workspace_id: int = Field(sa_column=workspace_id_column())
    id: int | None = Field(default=None, sa_column=identity_column())
    created_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    filename: str = Field(sa_column=Column(Text, nullable=False))
    # csv or jsonl
    format: str = Field(sa_column=Column(Text, nullable=False))
    # SHA-256 of the file's bytes, hex.
    digest: str = Field(sa_column=Column(Text, nullable=False))
    total_rows: int = Field(sa_column=Column(Integer, nullable=False))
    processed_rows: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    accepted: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    updated: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    duplicate: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    rejected: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Rows are applied in line order: every row up to this line has its result.
    applied_through: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    finished_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))


class UploadRow(SQLModel, table=True):
    """A data line of an uploaded file, as the postback query it stands for, and its outcome."""

    __tablename__ = "upload_rows"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "job_id"],
            ["upload_jobs.workspace_id", "upload_jobs.id"],
            ondelete="CASCADE",
        ),
    )

    workspace_id: int = Field(sa_column=workspace_id_column())
    job_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    # The line of the file the row is on, counting from 1 (the header is line 1 of a CSV).
    line: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    # The row's fields, URL-encoded under their column names: what a postback would send.
    query: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # A line that could not be read as a row: an excerpt of it, and why (code, then detail).
    raw: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    refusal: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    refusal_detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class UploadResult(SQLModel, table=True):
    """What applying a row did, written in the transaction that applied it (rows themselves
    are never updated: appending results costs a fraction of updating rows)."""

    __tablename__ = "upload_results"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "job_id"],
            ["upload_jobs.workspace_id", "upload_jobs.id"],
            ondelete="CASCADE",
        ),
    )

    workspace_id: int = Field(sa_column=workspace_id_column())
    job_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    line: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    # accepted, updated, duplicate or rejected; the reason code says why.
    outcome: str = Field(sa_column=Column(Text, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    detail: str = Field(sa_column=Column(Text, nullable=False))
    event_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class UploadQueueEntry(SQLModel, table=True):
    """A job with rows left to apply. Workers look here for work across every workspace, which
    a tenant table cannot answer in one shard on Citus: a reference table can."""

    __tablename__ = "upload_queue"
    __table_args__ = (REFERENCE,)

    job_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    workspace_id: int = Field(sa_column=Column(BigInteger, nullable=False))
