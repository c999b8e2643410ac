"""Errors a client caused and can fix; their messages reach the client unmasked."""

from graphql import GraphQLError

# Permission refusals carry this code (api.permissions).
FORBIDDEN = "FORBIDDEN"


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
