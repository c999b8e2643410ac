"""Ingestion's /metrics: requests by route template, group commits, postback outcomes, pool."""

from litestar.testing import AsyncTestClient

from ingestion.app import create_app
from models.settings import Settings
from tests.ingestion.conftest import Client, TrackedCampaign, click, postback
from tests.metrics_text import samples, value

REQUESTS = "clicktrail_http_request_duration_seconds_count"


async def _scrape(client: Client) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_requests_count_by_route_template_never_by_raw_path(
    ingestion_client: Client, campaign: TrackedCampaign
):
    before = await _scrape(ingestion_client)
    await click(ingestion_client)
    for key in ("made-up-1", "made-up-2"):
        assert (await ingestion_client.get(f"/c/{key}")).status_code == 404
    assert (await ingestion_client.get("/no/such/path/123")).status_code == 404
    assert (await ingestion_client.request("BREW", "/c/summer")).status_code == 405
    after = await _scrape(ingestion_client)

    def grew(**labels: str) -> float:
        return value(after, REQUESTS, **labels) - value(before, REQUESTS, **labels)

    assert grew(route="/c/{campaign_key}", method="GET", status="302") == 1
    assert grew(route="/c/{campaign_key}", method="GET", status="404") == 2
    assert grew(route="unmatched", method="GET", status="404") == 1
    # A method no route takes is refused before routing: it counts as unmatched, and under
    # `other`, since a server passes any method token through.
    assert grew(route="unmatched", method="other", status="405") == 1
    routes = {dict(labels)["route"] for name, labels in samples(after) if name == REQUESTS}
    assert not any("made-up" in route or "no/such" in route for route in routes)


async def test_group_commits_and_postback_outcomes_are_counted(
    ingestion_client: Client, campaign: TrackedCampaign
):
    before = await _scrape(ingestion_client)
    click_id = await click(ingestion_client)
    assert (await postback(ingestion_client, campaign.secret, cid=click_id))[0] == 200
    assert (await postback(ingestion_client, campaign.secret, cid=click_id))[0] == 200
    assert (await postback(ingestion_client, "not-the-secret", cid=click_id))[0] == 403
    after = await _scrape(ingestion_client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    outcomes = "clicktrail_postbacks_total"
    assert grew(outcomes, kind="postback", outcome="accepted", reason="accepted") == 1
    assert grew(outcomes, kind="postback", outcome="duplicate", reason="duplicate") == 1
    assert grew(outcomes, kind="postback", outcome="rejected", reason="bad_secret") == 1
    for queue in ("clicks", "postbacks"):
        assert grew("clicktrail_group_commit_batch_size_count", queue=queue) >= 1
        assert grew("clicktrail_group_commit_wait_seconds_count", queue=queue) >= 1
        assert ("clicktrail_queue_depth", frozenset({("queue", queue)})) in samples(after)
    # Durable clicks: the redirect waited for its batch, so the wait was measured before it.
    assert grew("clicktrail_group_commit_wait_seconds_sum", queue="clicks") > 0


async def test_the_pool_is_sampled(ingestion_client: Client, settings: Settings):
    scraped = await _scrape(ingestion_client)
    limit = value(scraped, "clicktrail_db_pool_limit")
    assert limit == settings.pool_size + settings.pool_max_overflow
    # The connections opened before serving, idle or serving this scrape's neighbours.
    held = sum(
        value(scraped, "clicktrail_db_pool_connections", state=state)
        for state in ("in_use", "idle")
    )
    assert held >= settings.pool_min_size


async def test_a_metrics_token_keeps_other_scrapers_out(engine, settings: Settings):
    token = "s3cret-metrics-token-0123"
    app = create_app(settings.model_copy(update={"metrics_token": token}))
    async with AsyncTestClient(app=app) as client:
        refused = await client.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["error"] == "unauthorized"
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        allowed = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200
        assert "clicktrail_http_request_duration_seconds" in allowed.text
