"""What a mutation can refuse, as exceptions for services and as GraphQL types for clients.

Services raise a `MutationError`; `returns_errors` turns it into the matching member of the
mutation's result union. Anything else is unexpected and masked.
"""

import functools
from abc import ABCMeta, abstractmethod
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar, cast

import strawberry


@strawberry.interface(name="Error", description="Something the client can fix; show `message`.")
class ErrorType:
    message: str = strawberry.field(description="What went wrong, for a person to read.")


@strawberry.type(description="An input value is not acceptable.")
class InputError(ErrorType):
    field: str | None = strawberry.field(
        description="The input field at fault, as named in the schema (null: the whole input)."
    )


@strawberry.type(description="No such object in the caller's workspace.")
class NotFound(ErrorType):
    pass


@strawberry.type(description="A unique value (a name, a campaign key) is already taken.")
class Conflict(ErrorType):
    # Nullable like InputError.field, so one selection set can ask both for `field`.
    field: str | None = strawberry.field(description="The input field whose value is taken.")


@strawberry.type(
    description=(
        "The object cannot be deleted because clicks, conversions or campaigns refer to it; "
        "archive it instead (status ARCHIVED)."
    )
)
class InUse(ErrorType):
    pass


@strawberry.type(description="The object was deleted.")
class Deleted:
    id: strawberry.ID = strawberry.field(description="Id of the deleted object.")


class MutationError(Exception, metaclass=ABCMeta):
    """An expected refusal; its message is shown to the client."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @abstractmethod
    def graphql(self) -> ErrorType: ...


class InvalidInput(MutationError):
    def graphql(self) -> ErrorType:
        return InputError(message=self.message, field=self.field)


class Missing(MutationError):
    def graphql(self) -> ErrorType:
        return NotFound(message=self.message)


class Taken(MutationError):
    def graphql(self) -> ErrorType:
        return Conflict(message=self.message, field=self.field)


class StillReferenced(MutationError):
    def graphql(self) -> ErrorType:
        return InUse(message=self.message)


P = ParamSpec("P")
R = TypeVar("R")


def returns_errors(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Answer a `MutationError` with its GraphQL type, which the resolver's union must list."""

    @functools.wraps(resolver)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await resolver(*args, **kwargs)
        except MutationError as error:
            # Strawberry checks the value against the union, so a missing member fails loudly.
            return cast(R, error.graphql())

    return wrapper
