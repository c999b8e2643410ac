"""Fixtures for the API tests: traffic recorded through the real ingestion app."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from asyncpg.connection import LoggedQuery
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.ingestion.conftest import TrackedCampaign, campaign, click, postback

__all__ = ["campaign"]

# Not the application's: transaction control, and asyncpg's look-ups of types it meets first.
_NOT_COUNTED = re.compile(
    r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b"
    r"|\s*WITH RECURSIVE typeinfo_tree\b|\s*SELECT\s+current_setting\('jit'\)",
    re.I,
)

CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36"
)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@dataclass(frozen=True)
class Traffic:
    campaign: TrackedCampaign
    # buyer: conversion + two transactions; lead: a pending conversion; browser: nothing;
    # bot: a crawler.
    buyer: str
    lead: str
    browser: str
    bot: str


@pytest.fixture
async def traffic(
    ingestion_client: AsyncTestClient[Litestar], campaign: TrackedCampaign
) -> Traffic:
    buyer = await click(
        ingestion_client, query="sub1=alpha&sub2=x", **{"user-agent": CHROME_ANDROID}
    )
    lead = await click(ingestion_client, query="sub1=beta", **{"user-agent": FIREFOX_WINDOWS})
    browser = await click(ingestion_client, query="sub1=alpha", **{"user-agent": FIREFOX_WINDOWS})
    bot = await click(ingestion_client, **{"user-agent": GOOGLEBOT})
    for params in (
        {"clickid": buyer, "sum": "10"},
        {"clickid": buyer, "type": "transaction", "txid": "t1", "sum": "4.5"},
        {"clickid": buyer, "type": "transaction", "txid": "t2", "sum": "5.5"},
        {"clickid": lead, "status": "pending", "sum": "2"},
    ):
        status, body = await postback(ingestion_client, campaign.secret, **params)
        assert status == 200, body
    return Traffic(campaign=campaign, buyer=buyer, lead=lead, browser=browser, bot=bot)


async def conversion_type_ids(session: AsyncSession, workspace_id: int) -> dict[str, int]:
    rows = await session.execute(
        text("SELECT name, id FROM conversion_types WHERE workspace_id = :ws"),
        {"ws": workspace_id},
    )
    return {row.name: row.id for row in rows}


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements run through ``engine`` meanwhile: SQLAlchemy's, and those the hot paths
    send to asyncpg directly (models.database.driver_connection), but for transaction control
    and asyncpg's type look-ups.
    SQLAlchemy's own go through prepared statements, which asyncpg's query loggers miss, so
    none is counted twice."""
    executed: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        executed.append(statement)

    def record_driver(query: LoggedQuery) -> None:
        if not _NOT_COUNTED.match(query.query):
            executed.append(query.query)

    watched: list[asyncpg.Connection] = []

    def watch(dbapi_connection: Any, *args: Any) -> None:
        driver: asyncpg.Connection = dbapi_connection.driver_connection
        driver.add_query_logger(record_driver)
        watched.append(driver)

    sync: Engine = engine.sync_engine
    event.listen(sync, "before_cursor_execute", record)
    event.listen(sync.pool, "checkout", watch)
    try:
        yield executed
    finally:
        event.remove(sync, "before_cursor_execute", record)
        event.remove(sync.pool, "checkout", watch)
        for driver in watched:
            driver.remove_query_logger(record_driver)
