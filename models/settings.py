"""Settings shared by both services, read from ``CLICKTRAIL_*`` environment variables."""

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, PositiveInt
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "clicktrail"


class Settings(BaseSettings):
    """Every knob of a clicktrail install; the README's configuration table lists them."""

    model_config = SettingsConfigDict(env_prefix="CLICKTRAIL_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CLICKTRAIL_DATABASE_URL", "DATABASE_URL"),
        description="PostgreSQL 15+ URL; unset means the embedded server in data_dir.",
    )
    data_dir: Path = Field(default_factory=_default_data_dir)
    host: str = "127.0.0.1"
    ingestion_port: PositiveInt = 8000
    api_port: PositiveInt = 8001
    workers: PositiveInt = 1
    pool_size: PositiveInt = 10
    pool_max_overflow: int = Field(default=10, ge=0)
    statement_timeout_ms: int = Field(default=30_000, ge=0)
    # GraphiQL at /graphql: convenient in development, off by default in production.
    graphiql: bool = False
    partitions_ahead_months: int = Field(default=3, ge=1, le=24)


@lru_cache
def get_settings() -> Settings:
    return Settings()
