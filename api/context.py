"""The per-request GraphQL context."""

from litestar.datastructures import Headers
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.litestar import BaseContext

from api.auth import Principal, authenticate


class Context(BaseContext, kw_only=True):
    session: AsyncSession
    principal: Principal


async def provide_context(headers: Headers, session: NamedDependency[AsyncSession]) -> Context:
    """A Litestar dependency: anonymous requests stop here with a 401, introspection included."""
    principal = await authenticate(session, headers.get("authorization"))
    return Context(session=session, principal=principal)
