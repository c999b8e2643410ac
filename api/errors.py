"""What GraphQL errors tell the client: a message, and a stable `extensions.code`.

Errors the client caused and can fix keep their messages; anything unexpected is masked (and
logged by the schema). Every error leaving the API carries one of the codes of `ErrorCode`.
"""

from enum import StrEnum
from typing import ClassVar

from graphql import GraphQLError, GraphQLSyntaxError
from graphql.validation.validate import ValidationAbortedError
from sqlalchemy.exc import DBAPIError
from strawberry.extensions import MaskErrors

from models.unavailable import connection_lost

DATABASE_UNAVAILABLE_MESSAGE = "the database is unavailable: retry in a few seconds"
# PostgreSQL's code for a statement cancelled by statement_timeout.
QUERY_CANCELED = "57014"
# JSON parsers read numbers past 2**53 as floats: figures reported back stop there.
_JSON_SAFE_INT = 2**53 - 1


class ErrorCode(StrEnum):
    """`extensions.code` of GraphQL errors; the README's GraphQL sections list them."""

    # The HTTP request is not a GraphQL request the API can run (HTTP 400, or 413 for a body
    # over 1 MiB).
    BAD_REQUEST = "BAD_REQUEST"
    # A GET from a browser while GraphiQL is off (HTTP 404).
    NOT_FOUND = "NOT_FOUND"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    # An argument or variable value is refused: out of range, malformed, too large.
    INVALID_INPUT = "INVALID_INPUT"
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
    # The arguments hold too many values (api.cost).
    INPUT_TOO_LARGE = "INPUT_TOO_LARGE"
    FORBIDDEN = "FORBIDDEN"
    QUERY_TIMEOUT = "QUERY_TIMEOUT"
    # The database cannot be reached; retry later (HTTP 503).
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


# Permission refusals carry this code (api.permissions).
FORBIDDEN = ErrorCode.FORBIDDEN


def cancelled_by_timeout(error: BaseException | None) -> bool:
    """Whether a database statement was cut off by its statement timeout."""
    return isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) == QUERY_CANCELED


def json_int(value: int) -> int:
    """A figure as it can be reported in JSON: exact up to 2**53, that much past it."""
    return min(value, _JSON_SAFE_INT)


class QueryInputError(ValueError):
    """An argument is out of range or malformed (page size, cursor, filter); says which."""

    # graphql-core copies an original error's `extensions` into the GraphQL error.
    extensions: ClassVar[dict[str, str]] = {"code": ErrorCode.INVALID_INPUT}


def should_mask(error: GraphQLError) -> bool:
    """Mask what the client cannot act on; the full error is still logged by Strawberry.

    GraphQL's own errors (syntax, validation, variables) carry no original error or a
    GraphQLError (permission checks); QueryInputError messages are written for clients.
    """
    if (error.extensions or {}).get("code") == FORBIDDEN:
        return False
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError | QueryInputError)


def with_code(error: GraphQLError, code: ErrorCode) -> GraphQLError:
    """The error with `extensions.code` set; the original is left alone (caches hold some)."""
    return GraphQLError(
        error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions={**(error.extensions or {}), "code": code},
    )


def coded(error: GraphQLError) -> GraphQLError:
    """The error as the client gets it: masked if unexpected, with an `extensions.code`.

    Applied to every error of every answer. MaskUnexpectedErrors does the same during the
    operation, but errors raised in extension hooks (parse errors among them) skip it.
    """
    if should_mask(error):
        return _masked(error)
    if (error.extensions or {}).get("code"):
        return error
    if isinstance(error, GraphQLSyntaxError):
        return with_code(error, ErrorCode.GRAPHQL_PARSE_FAILED)
    if isinstance(error, ValidationAbortedError):
        # graphql-core's own rules gave up (recursion, or too many fields to compare); its
        # message ("Validation aborted.") does not say what to change.
        return GraphQLError(
            "the document is too complex to validate (fragments spread inside fragments too "
            "deeply, or too many fields to compare): send a simpler one",
            extensions={"code": ErrorCode.GRAPHQL_VALIDATION_FAILED},
        )
    if error.path is None:
        # Before execution: the errors of variables and operations carry their codes, so
        # what is left comes from validation.
        return with_code(error, ErrorCode.GRAPHQL_VALIDATION_FAILED)
    # A field's argument refused by graphql-core (say, null where a value is required).
    return with_code(error, ErrorCode.INVALID_INPUT)


def _masked(error: GraphQLError) -> GraphQLError:
    message, code = "Unexpected error.", ErrorCode.INTERNAL_SERVER_ERROR
    if connection_lost(error.original_error):
        message, code = DATABASE_UNAVAILABLE_MESSAGE, ErrorCode.DATABASE_UNAVAILABLE
    elif cancelled_by_timeout(error.original_error):
        # The reports have a timeout of their own, with their own message.
        message = (
            "the query took longer than the API's statement timeout: narrow the filter or the "
            "date range, or ask for fewer rows; if it reads little, retry later"
        )
        code = ErrorCode.QUERY_TIMEOUT
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": code},
    )


class MaskUnexpectedErrors(MaskErrors):
    """Masks what should_mask says during the operation, as `coded` does."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=should_mask)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return _masked(error)
