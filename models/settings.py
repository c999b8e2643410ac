"""Settings shared by both services, read from ``CLICKTRAIL_*`` environment variables."""

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, AliasChoices, BeforeValidator, Field, PositiveInt
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _comma_separated(value: object) -> object:
    if isinstance(value, str):
        return [ip_network(item.strip(), strict=False) for item in value.split(",") if item.strip()]
    return value


Networks = Annotated[list[IPv4Network | IPv6Network], NoDecode, BeforeValidator(_comma_separated)]


def _origins(value: object) -> object:
    if isinstance(value, str):
        return [item.strip().rstrip("/") for item in value.split(",") if item.strip()]
    return value


Origins = Annotated[list[str], NoDecode, BeforeValidator(_origins)]


MAX_RETENTION_DAYS = 3_650


def _retention_days(days: int | None) -> int | None:
    # Said outright: elsewhere 0 often means "forever", and here it would mean "delete everything".
    if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
        raise ValueError(
            f"keep raw rows from 1 to {MAX_RETENTION_DAYS} days, or unset the variable to keep "
            "them forever"
        )
    return days


RetentionDays = Annotated[int | None, AfterValidator(_retention_days)]


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
    # The ingestion service's address as networks and browsers reach it (templates use it).
    public_url: str | None = None
    workers: PositiveInt = 1
    # Per worker process. Overflow connections close when returned, so a pool smaller than the
    # usual concurrency reconnects constantly.
    pool_size: PositiveInt = 20
    pool_max_overflow: int = Field(default=10, ge=0)
    # Connections each worker opens at startup, before serving: a Citus coordinator took
    # 0.5-0.6 s to set up a new connection, which no request should wait for.
    pool_min_size: int = Field(default=4, ge=0)
    statement_timeout_ms: int = Field(default=30_000, ge=0)
    # GraphiQL at /graphql. Unset: `clicktrail serve` and `serve-api` turn it on when they run
    # the embedded database (a machine of one's own); off with DATABASE_URL (production).
    graphiql: bool | None = None
    # Reports over raw clicks can scan millions of rows; past this they fail with a message.
    report_timeout_ms: int = Field(default=10_000, ge=100)
    partitions_ahead_months: int = Field(default=3, ge=1, le=24)
    # Raw clicks, conversion events and postback log: the monthly partitions wholly older than
    # this many days are dropped by ingestion's partition upkeep. Unset: kept forever. Rollups
    # keep their figures; reports that read raw rows find nothing before it.
    raw_retention_days: RetentionDays = None
    # Log lines as text, or one JSON object per line (for a log shipper).
    log_format: Literal["text", "json"] = "text"
    # A line per request (client, method, path without the query, status, time). Ingestion's
    # is off by default: a line per click is most of the log at tracking-link volumes.
    api_access_log: bool = True
    ingestion_access_log: bool = False
    # /metrics of both apps (and the forwarder's metrics port) answer only a scrape with
    # `Authorization: Bearer <token>` when this is set.
    metrics_token: str | None = Field(default=None, min_length=16)
    # The forwarder's /metrics, on `host`; 0 turns it off.
    forwarder_metrics_port: int = Field(default=8002, ge=0, le=65535)

    # GraphQL API limits. Introspection fields do not count towards the depth, and the
    # introspection queries of GraphiQL and Apollo stay well within the token and cost limits.
    api_max_query_depth: int = Field(default=10, ge=1)
    api_max_aliases: int = Field(default=30, ge=0)
    api_max_tokens: int = Field(default=2_000, ge=100)
    # A field costs 1; one with `first: N` multiplies its selection by N. 200,000 lets a
    # 1,000-row page of 50-field clicks with nested lists through, not 1,000 x 1,000 rows.
    api_max_query_cost: int = Field(default=200_000, ge=1)
    # Hot read documents (pages of clicks with their events) answered by one SQL statement
    # that builds the JSON (api/compiled), and reports' rows written without the executor;
    # byte for byte what the normal executor answers.
    api_compiled_reads: bool = True
    # Per API key and per worker process (in memory); 0 turns the limit off.
    api_rate_limit_per_minute: int = Field(default=600, ge=0)
    # Live feed (the `events` subscription): events held for a subscriber that reads slower
    # than they come (past it, it is told how many it missed), and subscriptions per process.
    live_feed_queue_size: int = Field(default=1_000, ge=1, le=100_000)
    live_feed_max_subscribers: int = Field(default=1_000, ge=1)
    # Browser origins allowed to call the API (dashboards), comma-separated; empty: no CORS.
    cors_origins: Origins = Field(default_factory=list)

    # Ingestion.
    # Proxies (load balancers, CDNs) whose X-Forwarded-For is believed, as CIDRs, comma-separated.
    trusted_proxies: Networks = Field(default_factory=list)
    # Request header carrying the visitor's ISO country code, e.g. CF-IPCountry behind Cloudflare.
    country_header: str | None = None
    # A MaxMind GeoIP2/GeoLite2 Country or City database file, used when no country header is set.
    geoip_database: Path | None = None
    # durable: a redirect answers after its click is committed (group commit).
    # buffered: it answers at once; a crash loses at most click_flush_ms of clicks.
    click_durability: Literal["durable", "buffered"] = "durable"
    click_flush_ms: int = Field(default=50, ge=1, le=5_000)
    # Same IP + user agent + campaign within this window: not a unique click.
    unique_window_hours: int = Field(default=24, ge=1, le=24 * 30)
    # How long the click-id cookie lets a pixel find its click.
    cookie_max_age_days: int = Field(default=30, ge=1, le=400)

    # Forwarding conversions to traffic sources (`clicktrail serve-forwarder`).
    # Requests in flight to one destination (scheme, host, port) at once.
    forward_concurrency: int = Field(default=32, ge=1, le=1_000)
    # Forwards held in memory (claimed, not yet acknowledged) by one forwarder process.
    forward_max_in_flight: int = Field(default=2_000, ge=10, le=100_000)
    # Whole-request limit per attempt: connect, send, and read the answer.
    forward_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # Attempts before a forward is dead-lettered; retries wait base * 2^(n-1) seconds (at most
    # the cap), with jitter.
    forward_max_attempts: int = Field(default=8, ge=1, le=50)
    forward_backoff_base_s: float = Field(default=10.0, gt=0, le=3_600)
    forward_backoff_max_s: float = Field(default=3_600.0, gt=0, le=86_400)
    # How often the outbox is looked at when it had nothing due.
    forward_poll_ms: int = Field(default=100, ge=5, le=10_000)
    # Loopback destinations are refused like private ones, unless this is on (tests, a
    # receiver on one's own machine). Private, link-local and metadata addresses always are.
    forward_allow_loopback: bool = False
    # Settled forwards (delivered or dead) are deleted with their attempts this many days after
    # they were settled: the outbox and its attempt log would otherwise grow without bound.
    forward_retention_days: int = Field(default=90, ge=1, le=3_650)


def ingestion_url(settings: Settings) -> str:
    return settings.public_url or f"http://{settings.host}:{settings.ingestion_port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
