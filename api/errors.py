"""Errors a client caused and can fix; their messages reach the client unmasked."""

from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError
from strawberry.extensions import MaskErrors

# Permission refusals carry this code (api.permissions).
FORBIDDEN = "FORBIDDEN"
# PostgreSQL's code for a statement cancelled by statement_timeout.
QUERY_CANCELED = "57014"


def cancelled_by_timeout(error: BaseException | None) -> bool:
    """Whether a database statement was cut off by its statement timeout."""
    return isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) == QUERY_CANCELED


class QueryInputError(ValueError):
    """An argument is out of range or malformed (page size, cursor, filter); says which."""


def should_mask(error: GraphQLError) -> bool:
    """Mask what the client cannot act on; the full error is still logged by Strawberry.

    GraphQL's own errors (syntax, validation, variables) carry no original error or a
    GraphQLError (permission checks); QueryInputError messages are written for clients.
    """
    if (error.extensions or {}).get("code") == FORBIDDEN:
        return False
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError | QueryInputError)


class MaskUnexpectedErrors(MaskErrors):
    """Masks what should_mask says; a statement cut off by the general statement timeout (the
    reports have their own, with their own message) still tells the client what to do."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        if not cancelled_by_timeout(error.original_error):
            return masked
        return GraphQLError(
            "the query took longer than the API's statement timeout: narrow the filter or the "
            "date range, or ask for fewer rows; if it reads little, retry later",
            nodes=masked.nodes,
            source=masked.source,
            positions=masked.positions,
            path=masked.path,
        )
