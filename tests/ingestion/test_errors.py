"""Every refusal, the service's or Litestar's own, answers {"error": code, "detail": message}."""

from typing import Any

from tests.ingestion.conftest import Client, TrackedCampaign


def _shape(response: Any) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error", "detail", "request_id"}, body
    assert body["detail"], body
    return response.status_code, body["error"]


async def test_an_unknown_route_answers_the_error_shape(ingestion_client: Client):
    response = await ingestion_client.get("/postbacks/nothing-here")
    assert _shape(response) == (404, "not_found")
    assert "/schema" in response.json()["detail"]


async def test_a_method_the_route_does_not_take_answers_the_error_shape(
    ingestion_client: Client, campaign: TrackedCampaign
):
    for method, path, allowed in [
        ("DELETE", "/clicks", "OPTIONS, POST"),
        ("PUT", f"/postback/{campaign.secret}", "GET, OPTIONS, POST"),
        ("POST", f"/pixel/{campaign.secret}.gif", "GET, OPTIONS"),
    ]:
        response = await ingestion_client.request(method, path)
        assert _shape(response) == (405, "method_not_allowed"), path
        assert set(response.headers["allow"].split(", ")) == set(allowed.split(", "))
        assert response.headers["allow"] in response.json()["detail"]


async def test_a_body_of_the_wrong_shape_answers_the_error_shape(ingestion_client: Client):
    response = await ingestion_client.post("/clicks", json={"campaign_key": 7})
    assert _shape(response) == (400, "invalid_body")
    assert "campaign_key" in response.json()["detail"]


async def test_malformed_json_answers_the_error_shape(ingestion_client: Client):
    response = await ingestion_client.post(
        "/clicks", content=b'{"campaign_key" 7}', headers={"Content-Type": "application/json"}
    )
    assert _shape(response) == (400, "invalid_body")
    assert "malformed" in response.json()["detail"]


async def test_options_names_every_method_of_the_path(
    ingestion_client: Client, campaign: TrackedCampaign
):
    for path, allowed in [
        (f"/postback/{campaign.secret}", "GET, OPTIONS, POST"),
        ("/clicks", "OPTIONS, POST"),
        (f"/pixel/{campaign.secret}.gif", "GET, OPTIONS"),
        ("/c/summer", "GET, OPTIONS"),
    ]:
        response = await ingestion_client.options(path)
        assert (response.status_code, response.headers["allow"]) == (204, allowed), path
