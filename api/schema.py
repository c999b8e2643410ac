"""The root schema; `strawberry export-schema api.schema:schema` writes schema.graphql from it."""

import strawberry
from strawberry.extensions import MaskErrors, ParserCache, ValidationCache

from api.workspaces.queries import WorkspaceQueries


@strawberry.type(description="Everything is read within the workspace of the calling API key.")
class Query(WorkspaceQueries):
    pass


schema = strawberry.Schema(
    query=Query,
    extensions=[ParserCache, ValidationCache, MaskErrors],
)
