"""Which transport runs which operations: subscriptions over the websocket, the rest over HTTP.

Queries and mutations over a websocket would escape the per-key HTTP rate limit; a
subscription over HTTP would hold a request open. Each is refused with a message saying where
it belongs.
"""

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from api.errors import ErrorCode


class SubscriptionsOverWebsocket(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        over_websocket = getattr(context.context, "websocket", None) is not None
        subscription = context.operation_type is OperationType.SUBSCRIPTION
        if over_websocket and not subscription:
            raise GraphQLError(
                "the websocket runs subscriptions only: send queries and mutations by HTTP",
                extensions={"code": ErrorCode.BAD_REQUEST},
            )
        if subscription and not over_websocket:
            raise GraphQLError(
                "subscriptions run over a graphql-transport-ws websocket at /graphql",
                extensions={"code": ErrorCode.BAD_REQUEST},
            )
        yield
