from typing import Any
from unittest.mock import ANY

import pytest
from litestar.testing import AsyncTestClient
from litestar.types import HTTPRequestEvent
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ingestion.app import create_app
from ingestion.params import MAX_BODY_BYTES
from models.settings import Settings
from tests.ingestion.conftest import Client, TrackedCampaign, click, count

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TOO_LARGE = {
    "error": "body_too_large",
    "detail": f"the body is longer than {MAX_BODY_BYTES} bytes, the most a postback may send",
    "request_id": ANY,
}


async def _logged(session: AsyncSession) -> list[tuple[Any, ...]]:
    rows = await session.execute(
        text("SELECT workspace_id, method, outcome, reason, http_status, body FROM postback_log")
    )
    return [tuple(r) for r in rows.all()]


def _refused(campaign: TrackedCampaign) -> tuple[Any, ...]:
    """Refused once the secret named the workspace: logged under it, the body not kept."""
    return (campaign.workspace_id, "POST", "rejected", "body_too_large", 413, None)


@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, 2 * 1024 * 1024])
async def test_an_oversized_post_body_gets_413_and_a_log_row(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign, size: int
):
    click_id = await click(ingestion_client)
    body = f"clickid={click_id}&note=".encode().ljust(size, b"x")
    response = await ingestion_client.post(
        f"/postback/{campaign.secret}", content=body, headers=FORM
    )
    assert (response.status_code, response.json()) == (413, TOO_LARGE)
    assert await count(session, "SELECT count(*) FROM conversion_events") == 0
    assert await _logged(session) == [_refused(campaign)]


async def test_a_streamed_body_is_refused_after_reading_at_most_the_limit_and_a_chunk(
    settings: Settings, session: AsyncSession, campaign: TrackedCampaign
):
    """No Content-Length to refuse early on: the limit holds on the bytes received."""
    chunk, total = 4096, 2 * 1024 * 1024
    read = 0
    app = create_app(settings)

    async def streaming(scope: Any, receive: Any, send: Any) -> None:
        """The app behind a server that hands it a long chunked body 4 kB at a time."""
        if scope["type"] != "http":
            return await app(scope, receive, send)

        async def chunks() -> HTTPRequestEvent:
            nonlocal read
            read += chunk
            return {"type": "http.request", "body": b"x" * chunk, "more_body": read < total}

        headers = [h for h in scope["headers"] if h[0] != b"content-length"]
        return await app({**scope, "headers": headers}, chunks, send)  # type: ignore[arg-type]

    async with AsyncTestClient(app=streaming) as client:
        response = await client.post(
            f"/postback/{campaign.secret}", content=b"unused", headers=FORM
        )
    assert (response.status_code, response.json()) == (413, TOO_LARGE)
    assert read <= MAX_BODY_BYTES + chunk
    assert await _logged(session) == [_refused(campaign)]


async def test_a_body_at_the_limit_is_read(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    click_id = await click(ingestion_client)
    body = f"clickid={click_id}&note=".encode().ljust(MAX_BODY_BYTES, b"x")
    response = await ingestion_client.post(
        f"/postback/{campaign.secret}", content=body, headers=FORM
    )
    # Refused for its long value, not for its size: the parameters were parsed.
    assert (response.status_code, response.json()["error"]) == (400, "bad_parameters")
    assert "is 16" in response.json()["detail"]
    assert await count(session, "SELECT count(*) FROM postback_log WHERE http_status = 400") == 1
