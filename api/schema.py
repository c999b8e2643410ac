"""The root schema; `strawberry export-schema api.schema:schema` writes schema.graphql from it."""

from functools import partial

import strawberry
from strawberry.extensions import MaskErrors, ParserCache, ValidationCache

from api.clicks.queries import ClickQueries
from api.conversions.queries import ConversionQueries
from api.errors import should_mask
from api.postback_log.queries import PostbackLogQueries
from api.reports.queries import ReportQueries
from api.workspaces.queries import WorkspaceQueries


@strawberry.type(description="Everything is read within the workspace of the calling API key.")
class Query(WorkspaceQueries, ClickQueries, ConversionQueries, PostbackLogQueries, ReportQueries):
    pass


schema = strawberry.Schema(
    query=Query,
    extensions=[ParserCache, ValidationCache, partial(MaskErrors, should_mask_error=should_mask)],
)
