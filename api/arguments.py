"""Argument annotations many fields share, with their schema descriptions."""

from typing import Annotated

import strawberry

from api.enums import RecordStatus

ObjectId = Annotated[strawberry.ID, strawberry.argument(description="The object's id.")]
NewStatus = Annotated[RecordStatus, strawberry.argument(description="ACTIVE, PAUSED or ARCHIVED.")]
StatusFilter = Annotated[
    RecordStatus | None, strawberry.argument(description="Only rows in this status.")
]
# For `input: Annotated[SomeInput, FIELDS]`.
FIELDS = strawberry.argument(description="The fields to create or change.")
