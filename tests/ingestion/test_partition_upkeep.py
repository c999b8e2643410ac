from datetime import UTC, datetime

from litestar.testing import AsyncTestClient
from sqlalchemy import text

from ingestion.app import create_app
from models.partitions import add_months, month_start
from models.settings import Settings


async def test_ingestion_creates_missing_partitions_when_it_starts(settings: Settings, engine):
    month = add_months(month_start(datetime.now(UTC)), settings.partitions_ahead_months)
    name = f"postback_log_y{month.year}m{month.month:02d}"
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE {name}"))
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/health")).status_code == 200
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT to_regclass(:name)::text"), {"name": name}) == name
