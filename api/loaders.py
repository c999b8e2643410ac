"""Per-request DataLoaders: one statement per batch, results in key order, scoped to the
caller's workspace."""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.dataloader import DataLoader

from api.catalog import repository as catalog
from api.clicks import repository as clicks
from api.conversions import repository as conversions
from api.forwarding import repository as forwarding
from api.workspaces import repository as workspaces


async def _by_id(
    engine: AsyncEngine, kind: str, workspace_id: int, ids: list[int]
) -> Sequence[Row[Any] | None]:
    rows = {
        row.id: row
        for row in await catalog.rows_by_id(engine, kind, workspace_id=workspace_id, ids=ids)
    }
    return [rows.get(key) for key in ids]


async def _conversion_types(
    engine: AsyncEngine, workspace_id: int, keys: list[None]
) -> Sequence[dict[int, Row[Any]]]:
    rows = await catalog.conversion_types(engine, workspace_id=workspace_id)
    return [{row.id: row for row in rows} for _ in keys]


async def _weighted_offers_by_campaign_id(
    engine: AsyncEngine, workspace_id: int, ids: list[int]
) -> Sequence[list[Row[Any]]]:
    grouped: dict[int, list[Row[Any]]] = {key: [] for key in ids}
    for row in await catalog.weighted_offers(engine, workspace_id=workspace_id, campaign_ids=ids):
        grouped[row.campaign_id].append(row)
    return [grouped[key] for key in ids]


async def _postback_secret(
    engine: AsyncEngine, workspace_id: int, keys: list[None]
) -> Sequence[str | None]:
    secret = await workspaces.active_postback_secret(engine, workspace_id)
    return [secret for _ in keys]


async def _clicks_by_id(
    engine: AsyncEngine, workspace_id: int, ids: list[str]
) -> Sequence[Row[Any] | None]:
    rows = {row.id: row for row in await clicks.by_ids(engine, workspace_id=workspace_id, ids=ids)}
    return [rows.get(key) for key in ids]


async def _events_by_click_id(
    engine: AsyncEngine, workspace_id: int, ids: list[str]
) -> Sequence[list[Row[Any]]]:
    grouped: dict[str, list[Row[Any]]] = {key: [] for key in ids}
    for row in await conversions.by_click_ids(engine, workspace_id=workspace_id, click_ids=ids):
        grouped[row.click_id].append(row)
    return [grouped[key] for key in ids]


async def _templates_by_source_id(
    engine: AsyncEngine, workspace_id: int, ids: list[int]
) -> Sequence[list[Row[Any]]]:
    grouped: dict[int, list[Row[Any]]] = {key: [] for key in ids}
    for row in await forwarding.templates_by_source(
        engine, workspace_id=workspace_id, source_ids=ids
    ):
        grouped[row.traffic_source_id].append(row)
    return [grouped[key] for key in ids]


async def _forwards_by_event_id(
    engine: AsyncEngine, workspace_id: int, ids: list[int]
) -> Sequence[list[Row[Any]]]:
    grouped: dict[int, list[Row[Any]]] = {key: [] for key in ids}
    for row in await forwarding.by_event_ids(engine, workspace_id=workspace_id, event_ids=ids):
        grouped[row.conversion_event_id].append(row)
    return [grouped[key] for key in ids]


async def _attempts_by_forward_id(
    engine: AsyncEngine, workspace_id: int, ids: list[int]
) -> Sequence[list[Row[Any]]]:
    grouped: dict[int, list[Row[Any]]] = {key: [] for key in ids}
    for row in await forwarding.attempts_by_forward_ids(
        engine, workspace_id=workspace_id, forward_ids=ids
    ):
        grouped[row.forward_id].append(row)
    return [grouped[key] for key in ids]


@dataclass(frozen=True, slots=True)
class Loaders:
    campaign_by_id: DataLoader[int, Row[Any] | None]
    offer_by_id: DataLoader[int, Row[Any] | None]
    traffic_source_by_id: DataLoader[int, Row[Any] | None]
    # The workspace's conversion types by id; the key is always None (one list per request).
    conversion_types: DataLoader[None, dict[int, Row[Any]]]
    # (campaign_id, offer_id, weight) rows of a campaign, heaviest first.
    weighted_offers_by_campaign_id: DataLoader[int, list[Row[Any]]]
    # The workspace's active postback secret; the key is always None.
    postback_secret: DataLoader[None, str | None]
    click_by_id: DataLoader[str, Row[Any] | None]
    events_by_click_id: DataLoader[str, list[Row[Any]]]
    forward_templates_by_source_id: DataLoader[int, list[Row[Any]]]
    forwards_by_event_id: DataLoader[int, list[Row[Any]]]
    forward_attempts_by_forward_id: DataLoader[int, list[Row[Any]]]


def create_loaders(engine: AsyncEngine, workspace_id: int) -> Loaders:
    return Loaders(
        campaign_by_id=DataLoader(partial(_by_id, engine, "campaign", workspace_id)),
        offer_by_id=DataLoader(partial(_by_id, engine, "offer", workspace_id)),
        traffic_source_by_id=DataLoader(partial(_by_id, engine, "traffic_source", workspace_id)),
        conversion_types=DataLoader(partial(_conversion_types, engine, workspace_id)),
        weighted_offers_by_campaign_id=DataLoader(
            partial(_weighted_offers_by_campaign_id, engine, workspace_id)
        ),
        postback_secret=DataLoader(partial(_postback_secret, engine, workspace_id)),
        click_by_id=DataLoader(partial(_clicks_by_id, engine, workspace_id)),
        events_by_click_id=DataLoader(partial(_events_by_click_id, engine, workspace_id)),
        forward_templates_by_source_id=DataLoader(
            partial(_templates_by_source_id, engine, workspace_id)
        ),
        forwards_by_event_id=DataLoader(partial(_forwards_by_event_id, engine, workspace_id)),
        forward_attempts_by_forward_id=DataLoader(
            partial(_attempts_by_forward_id, engine, workspace_id)
        ),
    )
