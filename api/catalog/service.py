"""Managing traffic sources, offers, campaigns, conversion types and currency rates."""

import re
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from strawberry import Maybe

from api.catalog import repository
from api.catalog.repository import Kind
from api.mutation_errors import InvalidInput, Missing, StillReferenced, Taken
from api.values import time_problem
from models import Campaign, CampaignOffer, Offer, TrafficSource, Workspace
from models.catalog import CAMPAIGN_KEY
from models.db_errors import constraint_of, table_of
from models.enums import CostModel, DuplicatePolicy, RecordStatus

MAX_NAME_LENGTH = 200
_KEY_TAKEN = "this campaign key is taken; choose another one (or leave it out for a random one)"


class CatalogInputError(InvalidInput, ValueError):
    """A campaign, offer or source setting is not acceptable; the message says why."""


@dataclass(frozen=True, slots=True)
class NewCampaign:
    campaign: Campaign
    offer: Offer


def new_campaign_key() -> str:
    """72 random bits, URL-safe: the path segment of the tracking link."""
    return secrets.token_urlsafe(9)


async def _claim_key(session: AsyncSession, workspace_id: int, key: str | None) -> str:
    """The campaign's key (``key``, or a new random one), now the workspace's across all of
    them. Refused the same way whether another workspace or this one holds it: nothing about
    the other workspace shows."""
    key = key or new_campaign_key()
    if not await repository.claim_campaign_key(session, workspace_id=workspace_id, key=key):
        raise Taken(_KEY_TAKEN, field="key")
    return key


async def create_campaign(
    session: AsyncSession,
    *,
    workspace_id: int,
    name: str,
    offer_url: str,
    source_name: str | None = None,
    source_click_id_param: str | None = None,
    cost_model: CostModel = CostModel.NONE,
    cost_value: Decimal = Decimal(0),
    payout: Decimal | None = None,
    key: str | None = None,
) -> NewCampaign:
    """A campaign sending all its traffic to one new offer, from a source (created if new).

    ``key`` is the tracking link's path segment; random (72 bits) unless one is chosen.
    """
    name = name.strip()
    if key is not None and not CAMPAIGN_KEY.fullmatch(key):
        raise CatalogInputError(f"campaign key {key!r} must be 4 to 64 letters, digits, - or _")
    if not name or len(name) > MAX_NAME_LENGTH:
        raise CatalogInputError(f"name must be 1 to {MAX_NAME_LENGTH} characters")
    url = urlsplit(offer_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise CatalogInputError(f"offer URL {offer_url!r} must be an absolute http(s) URL")
    if cost_value < 0 or (payout is not None and payout < 0):
        raise CatalogInputError("cost and payout cannot be negative")
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        raise CatalogInputError(f"workspace {workspace_id} does not exist")

    source_id = None
    if source_name:
        source = await _source(session, workspace_id, source_name, source_click_id_param)
        source_id = source.id
    offer = Offer(
        workspace_id=workspace_id,
        name=f"{name} offer",
        url=offer_url,
        payout=payout,
        currency=workspace.currency if payout is not None else None,
    )
    campaign = Campaign(
        workspace_id=workspace_id,
        key=await _claim_key(session, workspace_id, key),
        name=name,
        traffic_source_id=source_id,
        cost_model=cost_model,
        cost_value=cost_value,
    )
    session.add_all([offer, campaign])
    await session.flush()
    assert campaign.id is not None
    assert offer.id is not None
    session.add(
        CampaignOffer(workspace_id=workspace_id, campaign_id=campaign.id, offer_id=offer.id)
    )
    await session.flush()
    return NewCampaign(campaign=campaign, offer=offer)


async def _source(
    session: AsyncSession, workspace_id: int, name: str, click_id_param: str | None
) -> TrafficSource:
    existing = (
        await session.execute(
            select(TrafficSource).where(
                col(TrafficSource.workspace_id) == workspace_id, col(TrafficSource.name) == name
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    source = TrafficSource(workspace_id=workspace_id, name=name, click_id_param=click_id_param)
    session.add(source)
    await session.flush()
    return source


# What the GraphQL mutations call: each takes the session and the caller's workspace, checks
# its input, writes inside a savepoint (a refused mutation leaves nothing behind) and returns
# the written rows. `Maybe` arguments are None when the client left the field out.

MAX_WEIGHTED_OFFERS = 100
MAX_WEIGHT = 10_000
MAX_MONEY = Decimal(10) ** 12
MAX_RATE = Decimal(10) ** 10
_CONVERSION_TYPE_NAME = re.compile(r"[a-z0-9_]{1,32}")
_PARAM = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,64}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_LABELS: dict[Kind, str] = {
    "campaign": "campaign",
    "offer": "offer",
    "traffic_source": "traffic source",
    "conversion_type": "conversion type",
}
# Tables whose rows can refer to a deleted row, named as a user knows them.
_REFERRERS = {
    "clicks": "clicks",
    "conversion_events": "conversions",
    "campaign_offers": "campaigns",
    "campaigns": "campaigns",
}


@asynccontextmanager
async def _atomic(
    session: AsyncSession, kind: Kind, *, deleting: bool = False
) -> AsyncIterator[None]:
    """All or nothing; a unique, RevShare percent or (when deleting) foreign-key violation
    becomes a refusal."""
    try:
        async with session.begin_nested():
            yield
    except IntegrityError as error:
        cause = error.orig.__cause__ if error.orig is not None else None
        label = _LABELS[kind]
        if isinstance(cause, asyncpg.UniqueViolationError):
            if (constraint_of(cause) or "").endswith("_key"):
                raise Taken(_KEY_TAKEN, field="key") from None
            raise Taken(f"another {label} already has this name", field="name") from None
        if isinstance(cause, asyncpg.CheckViolationError) and (constraint_of(cause) or "").endswith(
            "_revshare_percent"
        ):
            raise InvalidInput(
                "a RevShare campaign's cost value is a percent of revenue: 0 to 100",
                field="costValue",
            ) from None
        if deleting and isinstance(cause, asyncpg.ForeignKeyViolationError):
            table = table_of(cause) or ""
            referrer = next(
                (name for prefix, name in _REFERRERS.items() if table.startswith(prefix)),
                "other rows",
            )
            raise StillReferenced(
                f"this {label} is used by {referrer}, so deleting it would break their "
                "history; archive it instead (status ARCHIVED)"
            ) from None
        raise


def _name(value: str, *, field: str = "name") -> str:
    value = value.strip()
    if not value or len(value) > MAX_NAME_LENGTH:
        raise InvalidInput(f"{field} must be 1 to {MAX_NAME_LENGTH} characters", field=field)
    return value


def _click_id_param(value: str | None) -> str | None:
    if value is not None and not _PARAM.fullmatch(value):
        raise InvalidInput(
            f"click id parameter {value!r} must be 1 to 64 letters, digits or _ . - [ ]",
            field="clickIdParam",
        )
    return value


def _url(value: str) -> str:
    url = urlsplit(value)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise InvalidInput(f"offer URL {value!r} must be an absolute http(s) URL", field="url")
    return value


def _money(value: Decimal, *, field: str) -> Decimal:
    # The columns hold 12 integer digits.
    if not value.is_finite() or not 0 <= value < MAX_MONEY:
        raise InvalidInput(f"{field} must be 0 or more and below {MAX_MONEY:,}", field=field)
    return value


def _currency(value: str, *, field: str = "currency") -> str:
    if not _CURRENCY.fullmatch(value):
        raise InvalidInput(
            f"currency {value[:60]!r} is not an ISO 4217 code such as USD", field=field
        )
    return value


async def _workspace_currency(session: AsyncSession, workspace_id: int) -> str:
    workspace = await session.get(Workspace, workspace_id)
    assert workspace is not None, "an API key cannot outlive its workspace"
    return workspace.currency


async def set_status(
    session: AsyncSession, kind: Kind, *, workspace_id: int, id: int, status: RecordStatus
) -> Row[Any]:
    """Pause, activate or archive a source, offer or campaign."""
    row = await repository.update_row(
        session, kind, workspace_id=workspace_id, id=id, values={"status": status}
    )
    if row is None:
        raise Missing(f"no {_LABELS[kind]} with id {id}")
    return row


async def delete(session: AsyncSession, kind: Kind, *, workspace_id: int, id: int) -> None:
    """Delete a row nothing refers to; rows with history must be archived instead."""
    if kind == "conversion_type":
        row = await _row(session, kind, workspace_id=workspace_id, id=id)
        if row is not None and row.is_builtin:
            raise InvalidInput(f"{row.name!r} is built in and cannot be deleted", field="id")
    async with _atomic(session, kind, deleting=True):
        deleted = await repository.delete_row(session, kind, workspace_id=workspace_id, id=id)
    if not deleted:
        raise Missing(f"no {_LABELS[kind]} with id {id}")


async def create_traffic_source(
    session: AsyncSession, *, workspace_id: int, name: str, click_id_param: str | None
) -> Row[Any]:
    values = {"name": _name(name), "click_id_param": _click_id_param(click_id_param)}
    async with _atomic(session, "traffic_source"):
        return await repository.insert_row(
            session, "traffic_source", workspace_id=workspace_id, values=values
        )


async def update_traffic_source(
    session: AsyncSession,
    *,
    workspace_id: int,
    id: int,
    name: Maybe[str],
    click_id_param: Maybe[str | None],
) -> Row[Any]:
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = _name(name.value)
    if click_id_param is not None:
        values["click_id_param"] = _click_id_param(click_id_param.value)
    return await _update(session, "traffic_source", workspace_id=workspace_id, id=id, values=values)


async def create_offer(
    session: AsyncSession,
    *,
    workspace_id: int,
    name: str,
    url: str,
    payout: Decimal | None,
    currency: str | None,
) -> Row[Any]:
    values = {
        "name": _name(name),
        "url": _url(url),
        "payout": None if payout is None else _money(payout, field="payout"),
        "currency": None if currency is None else _currency(currency),
    }
    if payout is not None and currency is None:
        values["currency"] = await _workspace_currency(session, workspace_id)
    async with _atomic(session, "offer"):
        return await repository.insert_row(
            session, "offer", workspace_id=workspace_id, values=values
        )


async def update_offer(
    session: AsyncSession,
    *,
    workspace_id: int,
    id: int,
    name: Maybe[str],
    url: Maybe[str],
    payout: Maybe[Decimal | None],
    currency: Maybe[str],
) -> Row[Any]:
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = _name(name.value)
    if url is not None:
        values["url"] = _url(url.value)
    if payout is not None:
        amount = payout.value
        values["payout"] = None if amount is None else _money(amount, field="payout")
    if currency is not None:
        values["currency"] = _currency(currency.value)
    return await _update(session, "offer", workspace_id=workspace_id, id=id, values=values)


@dataclass(frozen=True, slots=True)
class WrittenCampaign:
    campaign: Row[Any]
    # The campaign's rotation, and the offers and source it names, as this request sees them.
    weighted_offers: Sequence[Row[Any]]
    offers: Sequence[Row[Any]]
    traffic_source: Row[Any] | None


async def create_weighted_campaign(
    session: AsyncSession,
    *,
    workspace_id: int,
    name: str,
    key: str | None,
    traffic_source_id: int | None,
    offers: Mapping[int, int],
    cost_model: CostModel,
    cost_value: Decimal,
    attribution_window_days: int,
) -> WrittenCampaign:
    """A campaign rotating between existing offers by weight (offer id -> weight)."""
    if key is not None and not CAMPAIGN_KEY.fullmatch(key):
        raise InvalidInput(
            f"campaign key {key!r} must be 4 to 64 letters, digits, - or _", field="key"
        )
    values: dict[str, Any] = {
        "name": _name(name),
        "traffic_source_id": traffic_source_id,
        "cost_model": cost_model,
        "cost_value": _money(cost_value, field="costValue"),
        "attribution_window_days": _attribution_window(attribution_window_days),
    }
    source = await _traffic_source(session, workspace_id, traffic_source_id)
    offer_rows = await _offers(session, workspace_id, offers)
    async with _atomic(session, "campaign"):
        values["key"] = await _claim_key(session, workspace_id, key)
        campaign = await repository.insert_row(
            session, "campaign", workspace_id=workspace_id, values=values
        )
        weighted = await repository.replace_weighted_offers(
            session, workspace_id=workspace_id, campaign_id=campaign.id, weights=offers
        )
    return WrittenCampaign(campaign, weighted, offer_rows, source)


async def update_weighted_campaign(
    session: AsyncSession,
    *,
    workspace_id: int,
    id: int,
    name: Maybe[str],
    traffic_source_id: Maybe[int | None],
    offers: Maybe[Mapping[int, int]],
    cost_model: Maybe[CostModel],
    cost_value: Maybe[Decimal],
    attribution_window_days: Maybe[int],
) -> WrittenCampaign:
    """Change the given settings; `offers`, when given, replaces the whole rotation."""
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = _name(name.value)
    if cost_model is not None:
        values["cost_model"] = cost_model.value
    if cost_value is not None:
        values["cost_value"] = _money(cost_value.value, field="costValue")
    if attribution_window_days is not None:
        values["attribution_window_days"] = _attribution_window(attribution_window_days.value)
    if traffic_source_id is not None:
        # Checked first: the foreign key would refuse another workspace's source too, but as
        # an integrity error rather than a NotFound the client can show.
        await _traffic_source(session, workspace_id, traffic_source_id.value)
        values["traffic_source_id"] = traffic_source_id.value
    offer_rows = None if offers is None else await _offers(session, workspace_id, offers.value)
    async with _atomic(session, "campaign"):
        campaign = await _update(
            session, "campaign", workspace_id=workspace_id, id=id, values=values
        )
        if offers is not None:
            await repository.replace_weighted_offers(
                session, workspace_id=workspace_id, campaign_id=id, weights=offers.value
            )
    source = await _traffic_source(session, workspace_id, campaign.traffic_source_id)
    weighted = await repository.weighted_offers(
        session, workspace_id=workspace_id, campaign_ids=[id]
    )
    if offer_rows is None:
        offer_rows = await repository.rows_by_id(
            session, "offer", workspace_id=workspace_id, ids=[row.offer_id for row in weighted]
        )
    return WrittenCampaign(campaign, weighted, offer_rows, source)


def _attribution_window(days: int) -> int:
    if not 1 <= days <= 365:
        raise InvalidInput(
            "the attribution window must be 1 to 365 days", field="attributionWindowDays"
        )
    return days


async def _row(session: AsyncSession, kind: Kind, *, workspace_id: int, id: int) -> Row[Any] | None:
    rows = await repository.rows_by_id(session, kind, workspace_id=workspace_id, ids=[id])
    return rows[0] if rows else None


async def _traffic_source(
    session: AsyncSession, workspace_id: int, id: int | None
) -> Row[Any] | None:
    if id is None:
        return None
    row = await _row(session, "traffic_source", workspace_id=workspace_id, id=id)
    if row is None:
        raise Missing(f"no traffic source with id {id}")
    return row


async def _offers(
    session: AsyncSession, workspace_id: int, weights: Mapping[int, int]
) -> Sequence[Row[Any]]:
    if not 1 <= len(weights) <= MAX_WEIGHTED_OFFERS:
        raise InvalidInput(f"a campaign needs 1 to {MAX_WEIGHTED_OFFERS} offers", field="offers")
    if not all(1 <= weight <= MAX_WEIGHT for weight in weights.values()):
        raise InvalidInput(f"weights must be 1 to {MAX_WEIGHT}", field="offers")
    rows = await repository.rows_by_id(
        session, "offer", workspace_id=workspace_id, ids=list(weights)
    )
    missing = sorted(set(weights) - {row.id for row in rows})
    if missing:
        raise Missing(f"no offer with id {', '.join(map(str, missing))}")
    return rows


async def create_conversion_type(
    session: AsyncSession,
    *,
    workspace_id: int,
    name: str,
    counts_as_conversion: bool,
    counts_in_revenue: bool,
    duplicate_policy: DuplicatePolicy,
) -> Row[Any]:
    values = {
        "name": _conversion_type_name(name),
        "counts_as_conversion": counts_as_conversion,
        "counts_in_revenue": counts_in_revenue,
        "duplicate_policy": duplicate_policy,
    }
    async with _atomic(session, "conversion_type"):
        return await repository.insert_row(
            session, "conversion_type", workspace_id=workspace_id, values=values
        )


async def update_conversion_type(
    session: AsyncSession,
    *,
    workspace_id: int,
    id: int,
    name: Maybe[str],
    counts_as_conversion: Maybe[bool],
    counts_in_revenue: Maybe[bool],
    duplicate_policy: Maybe[DuplicatePolicy],
) -> Row[Any]:
    values: dict[str, Any] = {}
    if name is not None:
        current = await _row(session, "conversion_type", workspace_id=workspace_id, id=id)
        if current is not None and current.is_builtin and name.value != current.name:
            # Networks send these names in postbacks; ingestion relies on them.
            raise InvalidInput(f"{current.name!r} is built in and cannot be renamed", field="name")
        values["name"] = _conversion_type_name(name.value)
    if counts_as_conversion is not None:
        values["counts_as_conversion"] = counts_as_conversion.value
    if counts_in_revenue is not None:
        values["counts_in_revenue"] = counts_in_revenue.value
    if duplicate_policy is not None:
        values["duplicate_policy"] = duplicate_policy.value
    return await _update(
        session, "conversion_type", workspace_id=workspace_id, id=id, values=values
    )


def _conversion_type_name(value: str) -> str:
    if not _CONVERSION_TYPE_NAME.fullmatch(value):
        raise InvalidInput(
            f"conversion type name {value!r} must be 1 to 32 lowercase letters, digits or _",
            field="name",
        )
    return value


async def _update(
    session: AsyncSession, kind: Kind, *, workspace_id: int, id: int, values: Mapping[str, Any]
) -> Row[Any]:
    async with _atomic(session, kind):
        row = await repository.update_row(
            session, kind, workspace_id=workspace_id, id=id, values=values
        )
    if row is None:
        raise Missing(f"no {_LABELS[kind]} with id {id}")
    return row


async def set_currency_rate(
    session: AsyncSession,
    *,
    workspace_id: int,
    currency: str,
    rate: Decimal,
    valid_from: datetime,
) -> Row[Any]:
    """How many units of workspace currency one unit of `currency` is worth from `valid_from`."""
    currency = _currency(currency)
    if currency == await _workspace_currency(session, workspace_id):
        raise InvalidInput(
            f"{currency} is the workspace currency: its rate is always 1", field="currency"
        )
    if not rate.is_finite() or not 0 < rate < MAX_RATE:
        raise InvalidInput(f"the rate must be positive and below {MAX_RATE:,}", field="rate")
    _valid_from(valid_from)
    return await repository.upsert_currency_rate(
        session, workspace_id=workspace_id, currency=currency, valid_from=valid_from, rate=rate
    )


async def delete_currency_rate(
    session: AsyncSession, *, workspace_id: int, currency: str, valid_from: datetime
) -> Row[Any]:
    _valid_from(valid_from)
    row = await repository.delete_currency_rate(
        session, workspace_id=workspace_id, currency=currency, valid_from=valid_from
    )
    if row is None:
        raise Missing(f"no {currency[:60]} rate valid from {valid_from.isoformat()}")
    return row


def _valid_from(value: datetime) -> None:
    problem = time_problem(value, "validFrom")
    if problem is not None:
        raise InvalidInput(problem, field="validFrom")
