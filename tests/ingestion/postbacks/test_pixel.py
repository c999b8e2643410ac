import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.ingestion.conftest import Client, TrackedCampaign, click, count

SQL = "1'%3B%20DROP%20TABLE%20conversion_events%3B--"


async def _assert_gif_and_one_log_row(
    response, session: AsyncSession, *, result: str
) -> tuple[str, str | None]:
    """The pixel answered its GIF, stored no event and logged the hit once; returns the log's
    query and click id."""
    assert response.status_code == 200
    assert response.content.startswith(b"GIF89a")
    assert response.headers["content-type"] == "image/gif"
    assert response.headers["cache-control"] == "no-store, no-cache, must-revalidate, private"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["x-clicktrail-result"] == result
    assert await count(session, "SELECT count(*) FROM conversion_events") == 0
    rows = (
        await session.execute(
            text("SELECT kind, outcome, reason, query, body, click_id FROM postback_log")
        )
    ).all()
    assert [tuple(r[:3]) for r in rows] == [("pixel", "rejected", result)]
    query, body, click_id = rows[0][3:]
    assert body is None
    assert "\x00" not in query
    assert click_id is None or "\x00" not in click_id
    return query, click_id


@pytest.mark.parametrize(
    ("query", "result"),
    [
        ("clickid=x%00", "bad_parameters"),
        ("sub1=%00&type=%00", "bad_parameters"),
        ("clickid=%FF%FE", "bad_parameters"),
        ("clickid=" + "a" * 10_240, "bad_parameters"),
        ("note=" + "b" * 20_000, "bad_parameters"),
        (f"clickid={SQL}", "unknown_click"),
        (f"clickid=1&sum=1{SQL}", "bad_amount"),
    ],
)
async def test_hostile_query_values_answer_the_gif_and_only_a_log_row(
    ingestion_client: Client,
    session: AsyncSession,
    campaign: TrackedCampaign,
    query: str,
    result: str,
):
    response = await ingestion_client.get(f"/pixel/{campaign.secret}.gif?{query}")
    logged, _ = await _assert_gif_and_one_log_row(response, session, result=result)
    # Kept as sent (percent-encoded, so no NUL), up to the log's 16 kB.
    assert logged == query[: 16 * 1024]


@pytest.mark.parametrize(
    ("cookie", "result"),
    [
        # Litestar percent-decodes cookie values: %00 arrives as a NUL.
        ("%00", "bad_parameters"),
        ("01%00" + "a" * 30, "bad_parameters"),
        ("%FF%FE", "unknown_click"),
        ("c" * 10_240, "bad_parameters"),
        (SQL, "unknown_click"),
    ],
)
async def test_a_hostile_click_cookie_answers_the_gif_and_only_a_log_row(
    ingestion_client: Client,
    session: AsyncSession,
    campaign: TrackedCampaign,
    cookie: str,
    result: str,
):
    response = await ingestion_client.get(
        f"/pixel/{campaign.secret}.gif", headers={"Cookie": f"ct_click={cookie}"}
    )
    _, click_id = await _assert_gif_and_one_log_row(response, session, result=result)
    assert click_id is None or len(click_id) <= 64


async def test_a_hostile_cookie_does_not_spoil_a_pixel_that_names_its_click(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    click_id = await click(ingestion_client)
    response = await ingestion_client.get(
        f"/pixel/{campaign.secret}.gif?clickid={click_id}", headers={"Cookie": "ct_click=%00"}
    )
    assert response.headers["x-clicktrail-result"] == "accepted"
    assert await count(session, "SELECT count(*) FROM conversion_events") == 1
