"""The root schema; `strawberry export-schema api.schema:schema` writes schema.graphql from it."""

from functools import partial

import strawberry
from strawberry.extensions import MaskErrors, ParserCache, ValidationCache

from api.catalog.mutations import CatalogMutations
from api.catalog.queries import CatalogQueries
from api.permissions import should_mask_error
from api.workspaces.mutations import WorkspaceMutations
from api.workspaces.queries import WorkspaceQueries


@strawberry.type(description="Everything is read within the workspace of the calling API key.")
class Query(WorkspaceQueries, CatalogQueries):
    pass


@strawberry.type(
    description="Changes to the caller's workspace; admin keys only. Each answers with the "
    "saved object or a typed error (InputError, NotFound, Conflict, InUse) to show the user."
)
class Mutation(WorkspaceMutations, CatalogMutations):
    pass


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    extensions=[
        ParserCache,
        ValidationCache,
        partial(MaskErrors, should_mask_error=should_mask_error),
    ],
)
