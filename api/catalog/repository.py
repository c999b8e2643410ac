"""SQL for what a workspace configures: sources, offers, campaigns, conversion types, rates.

Reads take a Reader (api.database): the engine for resolvers and loaders, which run
concurrently, or the request's session for mutations, which read what they wrote. Writes go
through the request's session, which commits when the request ends.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Result, Row, Table, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.database import Reader, fetch_all
from models import (
    Campaign,
    CampaignKey,
    CampaignOffer,
    ConversionType,
    CurrencyRate,
    Offer,
    TrafficSource,
)
from models.base import table_of
from models.enums import RecordStatus

Kind = Literal["campaign", "offer", "traffic_source", "conversion_type"]

_TABLES: dict[str, Table] = {
    "campaign": table_of(Campaign),
    "offer": table_of(Offer),
    "traffic_source": table_of(TrafficSource),
    "conversion_type": table_of(ConversionType),
}
_CAMPAIGN_OFFERS = table_of(CampaignOffer)
_RATES = table_of(CurrencyRate)
_CAMPAIGN_KEYS = table_of(CampaignKey)


async def claim_campaign_key(session: AsyncSession, *, workspace_id: int, key: str) -> bool:
    """Make ``key`` the workspace's for good; False when another workspace's it already is.

    A key already the workspace's (its campaign deleted, say) is claimed again. The row lock
    of DO UPDATE orders two workspaces claiming one key at once: the second sees the first's.
    """
    table = _CAMPAIGN_KEYS
    statement = pg_insert(table).values(key=key, workspace_id=workspace_id)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"key": statement.excluded.key},
        where=table.c.workspace_id == statement.excluded.workspace_id,
    )
    result = await session.execute(statement.returning(table.c.workspace_id))
    return result.first() is not None


async def rows_by_id(
    reader: Reader, kind: str, *, workspace_id: int, ids: Sequence[int]
) -> Sequence[Row[Any]]:
    """Rows of a kind (campaigns, offers...) of the workspace with these ids, in one statement."""
    table = _TABLES[kind]
    return await fetch_all(
        reader,
        select(table).where(table.c.workspace_id == workspace_id, table.c.id.in_(ids)),
    )


async def listed_rows(
    engine: AsyncEngine,
    kind: Kind,
    *,
    workspace_id: int,
    status: RecordStatus | None,
    limit: int,
) -> Sequence[Row[Any]]:
    """Sources, offers or campaigns of the workspace by name, optionally of one status."""
    table = _TABLES[kind]
    statement = select(table).where(table.c.workspace_id == workspace_id)
    if status is not None:
        statement = statement.where(table.c.status == status)
    return await fetch_all(engine, statement.order_by(table.c.name, table.c.id).limit(limit))


async def conversion_types(engine: AsyncEngine, *, workspace_id: int) -> Sequence[Row[Any]]:
    table = _TABLES["conversion_type"]
    return await fetch_all(
        engine, select(table).where(table.c.workspace_id == workspace_id).order_by(table.c.id)
    )


async def weighted_offers(
    reader: Reader, *, workspace_id: int, campaign_ids: Sequence[int]
) -> Sequence[Row[Any]]:
    """The (campaign_id, offer_id, weight) rows of these campaigns, heaviest first, in one
    statement."""
    table = _CAMPAIGN_OFFERS
    return await fetch_all(
        reader,
        select(table)
        .where(table.c.workspace_id == workspace_id, table.c.campaign_id.in_(campaign_ids))
        .order_by(table.c.campaign_id, table.c.weight.desc(), table.c.offer_id),
    )


async def currency_rates(
    engine: AsyncEngine, *, workspace_id: int, currency: str | None, limit: int
) -> Sequence[Row[Any]]:
    table = _RATES
    statement = select(table).where(table.c.workspace_id == workspace_id)
    if currency is not None:
        statement = statement.where(table.c.currency == currency)
    return await fetch_all(
        engine, statement.order_by(table.c.currency, table.c.valid_from.desc()).limit(limit)
    )


async def insert_row(
    session: AsyncSession, kind: Kind, *, workspace_id: int, values: Mapping[str, Any]
) -> Row[Any]:
    table = _TABLES[kind]
    result: Result[Any] = await session.execute(
        insert(table).values(workspace_id=workspace_id, **values).returning(table)
    )
    return result.one()


async def update_row(
    session: AsyncSession, kind: Kind, *, workspace_id: int, id: int, values: Mapping[str, Any]
) -> Row[Any] | None:
    """The row after the update, or None when the workspace has no such row."""
    table = _TABLES[kind]
    where = (table.c.workspace_id == workspace_id, table.c.id == id)
    if not values:
        return (await session.execute(select(table).where(*where))).first()
    result: Result[Any] = await session.execute(
        update(table).where(*where).values(**values).returning(table)
    )
    return result.first()


async def delete_row(session: AsyncSession, kind: Kind, *, workspace_id: int, id: int) -> bool:
    table = _TABLES[kind]
    result = await session.execute(
        delete(table)
        .where(table.c.workspace_id == workspace_id, table.c.id == id)
        .returning(table.c.id)
    )
    return result.first() is not None


async def replace_weighted_offers(
    session: AsyncSession, *, workspace_id: int, campaign_id: int, weights: Mapping[int, int]
) -> Sequence[Row[Any]]:
    """Make these offers, with these weights, the campaign's whole rotation."""
    table = _CAMPAIGN_OFFERS
    await session.execute(
        delete(table).where(
            table.c.workspace_id == workspace_id, table.c.campaign_id == campaign_id
        )
    )
    result: Result[Any] = await session.execute(
        insert(table)
        .values(
            [
                {
                    "workspace_id": workspace_id,
                    "campaign_id": campaign_id,
                    "offer_id": offer_id,
                    "weight": weight,
                }
                for offer_id, weight in weights.items()
            ]
        )
        .returning(table)
    )
    # The same order as the reads: heaviest first.
    return sorted(result.all(), key=lambda row: (-row.weight, row.offer_id))


async def upsert_currency_rate(
    session: AsyncSession, *, workspace_id: int, currency: str, valid_from: datetime, rate: Decimal
) -> Row[Any]:
    table = _RATES
    statement = pg_insert(table).values(
        workspace_id=workspace_id, currency=currency, valid_from=valid_from, rate=rate
    )
    result: Result[Any] = await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.workspace_id, table.c.currency, table.c.valid_from],
            set_={"rate": statement.excluded.rate},
        ).returning(table)
    )
    return result.one()


async def delete_currency_rate(
    session: AsyncSession, *, workspace_id: int, currency: str, valid_from: datetime
) -> Row[Any] | None:
    table = _RATES
    result = await session.execute(
        delete(table)
        .where(
            table.c.workspace_id == workspace_id,
            table.c.currency == currency,
            table.c.valid_from == valid_from,
        )
        .returning(table)
    )
    return result.first()
