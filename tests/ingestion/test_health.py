from litestar import Litestar
from litestar.testing import AsyncTestClient

from ingestion.app import create_app
from models.settings import Settings


async def test_health_checks_the_database(ingestion_client: AsyncTestClient[Litestar]):
    response = await ingestion_client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_health_is_503_when_the_database_is_down():
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:1/none", _env_file=None)
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
