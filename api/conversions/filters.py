"""The conversion-event filter, for "latest conversions and transactions" views."""

from datetime import datetime

import strawberry

from api.enums import ConversionStatus


@strawberry.input(
    description="Narrows conversion events down; fields combine with AND. Lists match any of "
    "their values, so [] matches nothing; a null or omitted field does not narrow."
)
class ConversionFilter:
    created_from: datetime | None = strawberry.field(
        default=None, description="Events recorded at or after this time."
    )
    created_before: datetime | None = strawberry.field(
        default=None, description="Events recorded before this time."
    )
    types: list[str] | None = strawberry.field(
        default=None, description="Conversion type names, e.g. transaction."
    )
    statuses: list[ConversionStatus] | None = strawberry.field(
        default=None, description="Any of these statuses."
    )
    click_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this click's events."
    )
