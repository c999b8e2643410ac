"""Scope checks for GraphQL fields, and which errors reach the client unmasked."""

from graphql import GraphQLError
from strawberry import Info
from strawberry.permission import BasePermission

from api.context import Context
from api.errors import QueryInputError
from models.enums import ApiScope

# Permission errors carry this code, so the masking extension can let them through.
FORBIDDEN = "FORBIDDEN"
_EXTENSIONS = {"code": FORBIDDEN}


class CanRead(BasePermission):
    message = "this API key has neither the read nor the admin scope"
    error_extensions = _EXTENSIONS

    def has_permission(self, source: object, info: Info[Context], **kwargs: object) -> bool:
        context = info.context
        return bool(context.principal.scopes & {ApiScope.READ, ApiScope.ADMIN})


class IsAdmin(BasePermission):
    message = (
        "this API key has the read scope only: changing the workspace needs a key with the "
        "admin scope"
    )
    error_extensions = _EXTENSIONS

    def has_permission(self, source: object, info: Info[Context], **kwargs: object) -> bool:
        context = info.context
        return ApiScope.ADMIN in context.principal.scopes


def should_mask_error(error: GraphQLError) -> bool:
    """Mask everything but permission refusals and bad query arguments, which the caller can fix."""
    if (error.extensions or {}).get("code") == FORBIDDEN:
        return False
    return not isinstance(error.original_error, QueryInputError)
