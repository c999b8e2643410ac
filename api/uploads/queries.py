"""Root query fields for uploaded conversion files."""

from typing import Annotated

import strawberry

from api.arguments import ObjectId
from api.context import Context
from api.enums import HitOutcome
from api.errors import QueryInputError
from api.ids import parse_id
from api.pagination import (
    After,
    Connection,
    CursorScope,
    First,
    Position,
    connection,
    decode_cursor,
    page_size,
)
from api.permissions import CanRead
from api.uploads import repository
from api.uploads.types import UploadJobType, UploadRowResultType

_JOBS_SCOPE = CursorScope("uploadJobs", "NEWEST_FIRST")
_RESULTS_SCOPE = CursorScope("uploadResults", "LINE")


@strawberry.type
class UploadQueries:
    @strawberry.field(
        permission_classes=[CanRead],
        description="An uploaded file's job, with its progress; null when the workspace has "
        "no such job.",
    )
    async def upload_job(
        self, info: strawberry.Info[Context], id: ObjectId
    ) -> UploadJobType | None:
        job_id = parse_id(id)
        if job_id is None:
            return None
        row = await repository.job(
            info.context.engine, workspace_id=info.context.principal.workspace_id, id=job_id
        )
        return None if row is None else UploadJobType.from_row(row)

    @strawberry.field(
        permission_classes=[CanRead], description="Uploaded files' jobs, newest first."
    )
    async def upload_jobs(
        self, info: strawberry.Info[Context], first: First = None, after: After = None
    ) -> Connection[UploadJobType]:
        size = page_size(first)
        workspace_id = info.context.principal.workspace_id
        engine = info.context.engine
        position = None if after is None else decode_cursor(after, _JOBS_SCOPE)
        rows = await repository.job_page(
            engine,
            workspace_id=workspace_id,
            after=None if position is None else (position.time, _number(position)),
            size=size,
        )
        return connection(
            [UploadJobType.from_row(row) for row in rows[:size]],
            has_next_page=len(rows) > size,
            after=after,
            position=lambda job: Position(job.created_at, job.id),
            scope=_JOBS_SCOPE,
            count=lambda: repository.job_count(engine, workspace_id=workspace_id),
        )

    @strawberry.field(
        permission_classes=[CanRead],
        description="Each row's outcome of an uploaded file, in line order: which rows were "
        "refused, and why? Null when the workspace has no such job.",
    )
    async def upload_results(
        self,
        info: strawberry.Info[Context],
        job_id: Annotated[strawberry.ID, strawberry.argument(description="The upload job.")],
        outcomes: Annotated[
            list[HitOutcome] | None,
            strawberry.argument(
                description="Only rows with these outcomes (REJECTED: the bad rows)."
            ),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[UploadRowResultType] | None:
        size = page_size(first)
        workspace_id = info.context.principal.workspace_id
        engine = info.context.engine
        number = parse_id(job_id)
        job = (
            None
            if number is None
            else await repository.job(engine, workspace_id=workspace_id, id=number)
        )
        if job is None:
            return None
        position = None if after is None else decode_cursor(after, _RESULTS_SCOPE)
        rows = await repository.result_page(
            engine,
            workspace_id=workspace_id,
            job_id=job.id,
            outcomes=outcomes,
            after_line=None if position is None else _number(position),
            size=size,
        )
        # Every row of a job shares its upload time: the line orders them.
        return connection(
            [UploadRowResultType.from_row(row) for row in rows[:size]],
            has_next_page=len(rows) > size,
            after=after,
            position=lambda result: Position(job.created_at, str(result.line)),
            scope=_RESULTS_SCOPE,
            count=lambda: repository.result_count(
                engine, workspace_id=workspace_id, job_id=job.id, outcomes=outcomes
            ),
        )


def _number(position: Position) -> int:
    number = parse_id(position.id)
    if number is None:
        raise QueryInputError("cursor is not one this API returned")
    return number
