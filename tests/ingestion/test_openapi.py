from pathlib import Path

import pytest

from tests.ingestion.conftest import Client
from tests.pages import assert_served_from_package, loaded_urls

STATIC = Path(__file__).parents[2] / "ingestion" / "static" / "swagger"


async def test_every_endpoint_is_documented_in_openapi(ingestion_client: Client):
    spec = (await ingestion_client.get("/schema/openapi.json")).json()
    operations = {
        (method.upper(), path): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }
    assert set(operations) == {
        ("GET", "/health"),
        ("GET", "/c/{campaign_key}"),
        ("POST", "/clicks"),
        ("GET", "/postback/{secret}"),
        ("POST", "/postback/{secret}"),
        ("GET", "/pixel/{filename}"),
    }
    for key, operation in operations.items():
        assert operation.get("summary"), key
    assert "`transaction`" in operations[("GET", "/postback/{secret}")]["description"]


async def test_the_statuses_and_parameters_networks_meet_are_documented(
    ingestion_client: Client,
):
    spec = (await ingestion_client.get("/schema/openapi.json")).json()
    paths = spec["paths"]

    def statuses(path: str, method: str) -> set[str]:
        return set(paths[path][method]["responses"])

    def parameters(path: str, method: str) -> set[str]:
        return {p["name"] for p in paths[path][method]["parameters"]}

    assert statuses("/c/{campaign_key}", "get") >= {"302", "400", "404", "503"}
    assert "200" not in statuses("/c/{campaign_key}", "get")
    assert {"sub1", "sub20"} <= parameters("/c/{campaign_key}", "get")
    assert statuses("/clicks", "post") >= {"201", "400", "404", "503"}
    every_refusal = {"200", "400", "401", "403", "404", "409", "415", "422", "500", "503"}
    aliases = {"clickid", "cid", "subid", "click_id", "sum", "payout", "revenue", "amount"}
    aliases |= {"txid", "tid", "transaction_id", "type", "et", "status", "currency"}
    assert statuses("/postback/{secret}", "get") == every_refusal
    assert statuses("/postback/{secret}", "post") == every_refusal | {"413"}
    for method in ("get", "post"):
        assert aliases <= parameters("/postback/{secret}", method)
    assert aliases <= parameters("/pixel/{filename}", "get")
    assert "image/gif" in paths["/pixel/{filename}"]["get"]["responses"]["200"]["content"]


@pytest.mark.parametrize("page", ["/schema", "/schema/swagger"])
async def test_swagger_ui_loads_only_its_own_packaged_assets(ingestion_client: Client, page: str):
    response = await ingestion_client.get(page)
    assert response.status_code == 200
    assert "SwaggerUIBundle" in response.text
    await assert_served_from_package(ingestion_client, response.text, STATIC)
    assert "/static/swagger/swagger-ui-bundle.js" in loaded_urls(response.text)


async def test_no_page_loading_scripts_from_a_cdn_is_served(ingestion_client: Client):
    for page in ("/schema/redoc", "/schema/rapidoc", "/schema/elements"):
        assert (await ingestion_client.get(page)).status_code == 404, page
