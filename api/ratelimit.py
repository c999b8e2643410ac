"""Requests per minute per API key, counted in memory by each worker process.

Litestar's rate-limit middleware does the counting; it runs before authentication, so it keys
on the SHA-256 of the bearer token (what the api_keys table stores). Requests without a token
are refused with a 401 before any database work and are not counted.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from litestar import Litestar, MediaType, Request, Response
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.stores.memory import MemoryStore

from api.auth import bearer_token
from api.workspaces.credentials import hash_api_key
from models.logs import request_id
from models.periodic import periodically

STORE = "rate_limit"


def rate_limit_config(requests_per_minute: int) -> RateLimitConfig:
    return RateLimitConfig(
        rate_limit=("minute", requests_per_minute),
        identifier_for_request=_api_key_hash,
        check_throttle_handler=_has_token,
        store=STORE,
    )


def _has_token(request: Request[Any, Any, Any]) -> bool:
    return bearer_token(request.headers.get("authorization")) is not None


def _api_key_hash(request: Request[Any, Any, Any]) -> str:
    token = bearer_token(request.headers.get("authorization"))
    assert token is not None  # _has_token lets only requests with a token through
    return hash_api_key(token).hex()


def too_many_requests(
    request: Request[Any, Any, Any], exc: TooManyRequestsException
) -> Response[dict[str, object]]:
    headers = dict(exc.headers or {})
    # The middleware tells when the key's window resets; clients know Retry-After better.
    retry_after = max(1, int(headers.get("RateLimit-Reset", "60")))
    limit = request.app.state.settings.api_rate_limit_per_minute
    body: dict[str, object] = {
        "status_code": exc.status_code,
        "detail": f"this API key made more than {limit} requests in a minute; "
        f"retry in {retry_after} s",
    }
    rid = request_id.get()
    if rid is not None:
        body["request_id"] = rid
    return Response(
        body,
        status_code=exc.status_code,
        headers={**headers, "Retry-After": str(retry_after)},
        media_type=MediaType.JSON,
    )


def forget_expired_windows(
    store: MemoryStore, every_s: float = 60.0
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """A lifespan hook: the memory store drops an expired entry only when asked, and every
    token ever sent, valid or not, leaves one."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with periodically(
            store.delete_expired, what="forget expired rate-limit windows", every_s=every_s
        ):
            yield

    return lifespan
