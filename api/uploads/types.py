"""GraphQL types for uploaded conversion files."""

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Row

from api.enums import HitOutcome, UploadState
from models.upload_jobs import JobProgress


@strawberry.type(
    name="UploadJob",
    description="An uploaded conversion file and how far its rows have been applied; each "
    "row is applied as an S2S postback would be (see uploadResults for each row's outcome).",
)
class UploadJobType:
    id: strawberry.ID = strawberry.field(description="Upload job id.")
    created_at: datetime = strawberry.field(
        description="When the file was taken: the conversion time of rows that give none."
    )
    filename: str = strawberry.field(description="The file's name as uploaded.")
    format: str = strawberry.field(description="csv or jsonl.")
    state: UploadState = strawberry.field(description="Queued, applying or finished.")
    total_rows: int = strawberry.field(description="Data rows in the file (blank lines skipped).")
    processed_rows: int = strawberry.field(description="Rows applied so far.")
    accepted: int = strawberry.field(description="Rows that stored a new event.")
    updated: int = strawberry.field(description="Rows that changed an event's amount or status.")
    duplicate: int = strawberry.field(description="Rows that changed nothing (already stored).")
    rejected: int = strawberry.field(
        description="Rows refused, each with its line and reason in uploadResults."
    )
    finished_at: datetime | None = strawberry.field(description="When the last row was applied.")

    @classmethod
    def from_row(cls, row: Row[Any] | JobProgress) -> "UploadJobType":
        if row.finished_at is not None:
            state = UploadState.FINISHED
        else:
            state = UploadState.APPLYING if row.processed_rows else UploadState.QUEUED
        return cls(
            id=strawberry.ID(str(row.id)),
            created_at=row.created_at,
            filename=row.filename,
            format=row.format,
            state=state,
            total_rows=row.total_rows,
            processed_rows=row.processed_rows,
            accepted=row.accepted,
            updated=row.updated,
            duplicate=row.duplicate,
            rejected=row.rejected,
            finished_at=row.finished_at,
        )


@strawberry.type(name="UploadRowResult", description="What applying one row of a file did.")
class UploadRowResultType:
    line: int = strawberry.field(
        description="The row's line in the file, from 1 (a CSV's header is line 1)."
    )
    outcome: HitOutcome = strawberry.field(description="Accepted, updated, duplicate, rejected.")
    reason: str = strawberry.field(
        description="Stable reason code, as for a postback (unknown_click, bad_amount, "
        "outside_window, ...), or bad_row / line_too_long for a line that is no row."
    )
    detail: str = strawberry.field(description="The reason, for a person to read.")
    conversion_event_id: strawberry.ID | None = strawberry.field(
        description="The event the row stored or changed."
    )

    @classmethod
    def from_row(cls, row: Row[Any]) -> "UploadRowResultType":
        return cls(
            line=row.line,
            outcome=HitOutcome(row.outcome),
            reason=row.reason,
            detail=row.detail,
            conversion_event_id=None if row.event_id is None else strawberry.ID(str(row.event_id)),
        )


@strawberry.type(name="ConversionUpload", description="The job of an uploaded file.")
class ConversionUploadType:
    job: UploadJobType = strawberry.field(description="The file's job; poll it with uploadJob.")
    already_uploaded: bool = strawberry.field(
        description="The same file (the same bytes) was uploaded before: this is that upload's "
        "job, and nothing was stored again."
    )
