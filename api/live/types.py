"""GraphQL types of the live feed."""

from enum import StrEnum
from typing import Annotated

import strawberry

from api.conversions.types import ConversionEventType
from api.enums import graphql_enum
from models import live


@graphql_enum(
    "What happened to a live event.",
    ADDED="A new event was recorded.",
    UPDATED="A stored event changed: a new status (an approval, a chargeback) or amount.",
)
class EventChange(StrEnum):
    ADDED = live.ADDED
    UPDATED = live.UPDATED


@strawberry.type(description="An event of the workspace, sent once its change is committed.")
class LiveEvent:
    change: EventChange = strawberry.field(description="Added, or updated.")
    event: ConversionEventType = strawberry.field(
        description="The event as stored when the feed read it."
    )


@strawberry.type(
    description="Events this subscription did not get: it read slower than they came (its "
    "queue is bounded), or the feed lost its database connection for a moment. Query "
    "`conversions` to catch up."
)
class MissedEvents:
    count: int | None = strawberry.field(description="How many; null when unknown.")
    message: str = strawberry.field(description="What happened, for people.")


LiveMessage = Annotated[
    LiveEvent | MissedEvents,
    strawberry.union("LiveMessage", description="An event, or word of events missed."),
]
