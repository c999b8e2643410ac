"""The postback-log filter: why did a network's postback not count?"""

from datetime import datetime

import strawberry

from api.enums import HitKind, HitOutcome


@strawberry.input(
    description="Narrows postback and pixel hits down; fields combine with AND. Lists match "
    "any of their values, so [] matches nothing; a null or omitted field does not narrow."
)
class PostbackLogFilter:
    received_from: datetime | None = strawberry.field(
        default=None, description="Hits received at or after this time."
    )
    received_before: datetime | None = strawberry.field(
        default=None, description="Hits received before this time."
    )
    kinds: list[HitKind] | None = strawberry.field(
        default=None, description="Postbacks, pixels or both."
    )
    outcomes: list[HitOutcome] | None = strawberry.field(
        default=None, description="Accepted, updated, duplicate, rejected."
    )
    reasons: list[str] | None = strawberry.field(
        default=None,
        description="Reason codes, e.g. unknown_click, bad_signature, outside_window.",
    )
    click_id: str | None = strawberry.field(
        default=None, description="Hits that named this click id."
    )
