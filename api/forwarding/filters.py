"""The forwards filter: what was sent to the traffic sources, and what failed?"""

from datetime import datetime

import strawberry

from api.enums import ForwardState


@strawberry.input(
    description="Narrows forwards down; fields combine with AND. Lists match any of their "
    "values, so [] matches nothing; a null or omitted field does not narrow."
)
class ForwardFilter:
    states: list[ForwardState] | None = strawberry.field(
        default=None, description="Pending, delivered, dead."
    )
    traffic_source_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Forwards to these traffic sources."
    )
    conversion_event_id: strawberry.ID | None = strawberry.field(
        default=None, description="Forwards of this conversion event."
    )
    click_id: str | None = strawberry.field(
        default=None, description="Forwards of this click's events."
    )
    created_from: datetime | None = strawberry.field(
        default=None, description="Forwards queued at or after this time."
    )
    created_before: datetime | None = strawberry.field(
        default=None, description="Forwards queued before this time."
    )
