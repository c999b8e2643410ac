from tests.ingestion.conftest import Client


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
