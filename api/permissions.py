"""Scope checks for GraphQL fields, and which errors reach the client unmasked."""

from strawberry import Info
from strawberry.permission import BasePermission

from api.context import Context
from api.errors import FORBIDDEN
from models.enums import ApiScope

# The masking extension lets errors with this code through.
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
