"""The forwarder's own metrics: its database pool, as the apps report theirs."""

from prometheus_client import generate_latest
from sqlalchemy import text

from forwarder.metrics import REGISTRY, watch_pool
from models.database import create_engine
from models.settings import Settings
from tests.metrics_text import value


def _scrape() -> str:
    return generate_latest(REGISTRY).decode()


async def test_the_forwarders_pool_use_is_in_its_metrics(database_url: str):
    settings = Settings(database_url=database_url, pool_size=2, pool_max_overflow=1, _env_file=None)
    engine = create_engine(database_url, settings, application_name="clicktrail-test-forwarder")
    try:
        watch_pool(engine, settings)
        assert value(_scrape(), "clicktrail_db_pool_limit") == 3
        assert value(_scrape(), "clicktrail_db_pool_connections", state="in_use") == 0
        async with engine.connect() as first, engine.connect() as second:
            for conn in (first, second):
                await conn.execute(text("SELECT 1"))
            scraped = _scrape()
            assert value(scraped, "clicktrail_db_pool_connections", state="in_use") == 2
            assert value(scraped, "clicktrail_db_pool_connections", state="idle") == 0
        scraped = _scrape()
        assert value(scraped, "clicktrail_db_pool_connections", state="in_use") == 0
        assert value(scraped, "clicktrail_db_pool_connections", state="idle") == 2
    finally:
        await engine.dispose()
