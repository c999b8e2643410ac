"""The root schema; `strawberry export-schema api.schema:schema` writes schema.graphql from it."""

from collections.abc import Callable
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from api.catalog.mutations import CatalogMutations
from api.catalog.queries import CatalogQueries
from api.clicks.queries import ClickQueries
from api.conversions.queries import ConversionQueries
from api.cost import QueryCost
from api.costs.mutations import CostUpdateMutations
from api.costs.queries import CostUpdateQueries
from api.delays.queries import DelayQueries
from api.errors import MaskUnexpectedErrors, should_mask
from api.execution import PlainDataExecutor
from api.forwarding.mutations import ForwardingMutations
from api.forwarding.queries import ForwardingQueries
from api.limits import document_rules
from api.live.subscriptions import Subscription
from api.operation import OperationNameRequired
from api.outage import DatabaseOutage
from api.postback_log.queries import PostbackLogQueries
from api.reports.queries import ReportQueries
from api.transport import SubscriptionsOverWebsocket
from api.uploads.mutations import UploadMutations
from api.uploads.queries import UploadQueries
from api.workspaces.mutations import WorkspaceMutations
from api.workspaces.queries import WorkspaceQueries
from models.settings import Settings, get_settings
from models.unavailable import connection_lost


@strawberry.type(description="Everything is read within the workspace of the calling API key.")
class Query(
    WorkspaceQueries,
    CatalogQueries,
    ClickQueries,
    ConversionQueries,
    PostbackLogQueries,
    ReportQueries,
    ForwardingQueries,
    DelayQueries,
    UploadQueries,
    CostUpdateQueries,
):
    pass


@strawberry.type(
    description="Changes to the caller's workspace; admin keys only. Each answers with the "
    "saved object or a typed error (InputError, NotFound, Conflict, InUse) to show the user."
)
class Mutation(
    WorkspaceMutations, CatalogMutations, ForwardingMutations, UploadMutations, CostUpdateMutations
):
    pass


class _Schema(strawberry.Schema):
    def __init__(self, *, outage: DatabaseOutage, **kwargs: Any) -> None:  # noqa: ANN401
        super().__init__(**kwargs)
        self.outage = outage

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # The client's own mistakes are answered, not logged as server errors; an outage is
        # logged once, not with a traceback per request.
        for error in filter(should_mask, errors):
            if connection_lost(error.original_error):
                self.outage.failed(error.original_error or error)
            else:
                StrawberryLogger.error(error, execution_context)


def build_schema(
    settings: Settings,
    *,
    query: type = Query,
    mutation: type | None = Mutation,
    subscription: type | None = Subscription,
    outage: DatabaseOutage | None = None,
) -> strawberry.Schema:
    # Extensions are per-request factories, but the depth and alias rules are built once:
    # ValidationCache keys on the rule classes, so new classes per request would never hit.
    limit_rules = document_rules(
        max_depth=settings.api_max_query_depth, max_aliases=settings.api_max_aliases
    )
    extensions: list[Callable[[], SchemaExtension]] = [
        partial(MaxTokensLimiter, max_token_count=settings.api_max_tokens),
        ParserCache,
        partial(AddValidationRules, limit_rules),
        ValidationCache,
        OperationNameRequired,
        SubscriptionsOverWebsocket,
        partial(QueryCost, limit=settings.api_max_query_cost),
        MaskUnexpectedErrors,
    ]
    return _Schema(
        outage=outage or DatabaseOutage(),
        query=query,
        mutation=mutation,
        subscription=subscription,
        extensions=extensions,
        execution_context_class=PlainDataExecutor,
    )


schema = build_schema(get_settings())
