"""The `events` subscription: a workspace's events as they are committed."""

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from api.context import Context
from api.conversions.types import ConversionEventType
from api.errors import QueryInputError
from api.live.feed import Change, LiveFeed
from api.live.types import EventChange, LiveEvent, LiveMessage, MissedEvents
from api.loaders import create_loaders
from api.permissions import CanRead
from api.values import bounded


@strawberry.type(
    description="Live data over graphql-transport-ws at /graphql; the API key goes in the "
    'connection_init payload as {"Authorization": "Bearer <key>"}.'
)
class Subscription:
    @strawberry.subscription(
        permission_classes=[CanRead],
        description="The workspace's conversions, transactions and custom events as they are "
        "recorded, and their status changes, each sent after its commit. A subscription that "
        "reads slower than events come gets MissedEvents instead of the overflow.",
    )
    async def events(
        self,
        info: strawberry.Info[Context],
        types: Annotated[
            list[str] | None,
            strawberry.argument(description="Only events of these types; every type when null."),
        ] = None,
    ) -> AsyncGenerator[LiveMessage, None]:
        context = info.context
        if types is not None and any("\x00" in name for name in bounded(types, "types")):
            raise QueryInputError("types: a type name holds no NUL character")
        feed: LiveFeed = context.live_feed
        workspace_id = context.principal.workspace_id
        wanted = None if types is None else frozenset(types)
        async with feed.subscribe(context.engine, workspace_id, wanted) as subscriber:
            while True:
                item = await subscriber.next()
                if isinstance(item, Change):
                    # Loaders cache what they read: fresh ones per event keep a subscription
                    # that runs for days from holding every click it ever sent.
                    context.loaders = create_loaders(context.engine, workspace_id)
                    yield LiveEvent(
                        change=EventChange(item.change),
                        event=ConversionEventType.from_row(item.row),
                    )
                else:
                    yield MissedEvents(
                        count=item.count,
                        message="events went by unsent: "
                        + (
                            f"{item.count} did not fit this subscription's queue"
                            if item.count is not None
                            else "the feed lost its database connection or fell behind"
                        )
                        + "; query conversions to catch up",
                    )
