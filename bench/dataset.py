"""A realistic workspace for read benchmarks: its catalog, then clicks and events by COPY.

Everything but the click ids comes from one seeded `random.Random`, so two loads of a size hold
the same traffic; the ids come from `models.click_ids.new_click_id`, whose random part cannot be
seeded, because the API derives a click's partition from its id.

The COPY writes no rollup changes (ingestion's writers do that): run
`models.rollups.rebuild_rollups` for the workspace after a load, as bench/api_reads.py does.
"""

import asyncio
import math
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from ipaddress import IPv4Address
from itertools import islice
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select

from api.catalog.service import create_campaign
from api.workspaces.service import create_workspace
from models import CampaignOffer, ConversionType, Offer
from models.catalog import DEFAULT_CONVERSION_TYPE, TRANSACTION_TYPE
from models.click_ids import new_click_id
from models.enums import ConversionStatus, CostModel
from models.partitions import ensure_partitions

Row = tuple[object, ...]

TIMEZONE = "Europe/Berlin"
DAYS = 90
BATCH_ROWS = 10_000
BOT_SHARE = 0.03
UNIQUE_SHARE = 0.8
TRANSACTING_SHARE = 1 / 3

SOURCES = (
    ("Google Ads", "gclid"),
    ("Facebook", "fbclid"),
    ("TikTok", "ttclid"),
    ("PropellerAds", None),
    ("Taboola", None),
    ("Outbrain", None),
    ("Zeropark", None),
    ("MGID", None),
)
VERTICALS = ("Sweepstakes", "Nutra", "Dating", "Finance", "Gaming", "VPN", "Shop", "Crypto")
COUNTRIES = (
    "US", "DE", "GB", "FR", "BR", "IN", "ID", "MX", "IT", "ES", "CA", "PL", "NL", "TR",
    "PH", "VN", "TH", "JP", "KR", "AU", "AR", "CO", "CL", "PE", "ZA", "NG", "EG", "SA",
    "AE", "RU", "UA", "RO", "CZ", "SE", "NO", "DK", "FI", "AT", "CH", "BE",
)  # fmt: skip
# ua-parser's family names, as ingestion stores them.
# fmt: off
DEVICES = (
    # device_type, os, browser, weight, user agent
    ("desktop", "Windows", "Chrome", 30,
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36"),
    ("desktop", "Windows", "Edge", 8,
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"),
    ("desktop", "Windows", "Firefox", 4,
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    ("desktop", "Mac OS X", "Safari", 4,
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/18.1 Safari/605.1.15"),
    ("desktop", "Mac OS X", "Chrome", 4,
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36"),
    ("desktop", "Linux", "Firefox", 1,
     "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    ("mobile", "Android", "Chrome Mobile", 22,
     "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Mobile Safari/537.36"),
    ("mobile", "Android", "Samsung Internet", 5,
     "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36"),
    ("mobile", "iOS", "Mobile Safari", 14,
     "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
     "like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
    ("mobile", "iOS", "Chrome Mobile iOS", 3,
     "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
     "like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"),
    ("tablet", "iOS", "Mobile Safari", 3,
     "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.1 Mobile/15E148 Safari/604.1"),
    ("tablet", "Android", "Chrome", 2,
     "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36"),
)
# fmt: on
BOTS = (
    ("Googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
    ("bingbot", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"),
    ("AhrefsBot", "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)"),
)
# Share of a day's traffic per local hour: quiet nights, an evening peak.
HOUR_WEIGHTS = (
    2.0, 1.4, 1.0, 0.8, 0.7, 0.8, 1.3, 2.2, 3.2, 3.8, 4.1, 4.3,
    4.5, 4.5, 4.3, 4.3, 4.5, 4.8, 5.3, 5.8, 6.0, 5.6, 4.4, 3.0,
)  # fmt: skip
WEEKDAY_WEIGHTS = (1.0, 1.02, 1.03, 1.01, 0.97, 0.86, 0.84)
STATUSES = (ConversionStatus.APPROVED, ConversionStatus.PENDING, ConversionStatus.DECLINED)
CONVERSION_STATUS_WEIGHTS = (82, 12, 6)
TRANSACTION_STATUS_WEIGHTS = (90, 7, 3)

CLICK_COLUMNS = (
    "workspace_id",
    "created_at",
    "id",
    "campaign_id",
    "offer_id",
    "traffic_source_id",
    "ip",
    "user_agent",
    "device_type",
    "os",
    "browser",
    "is_bot",
    "is_unique",
    "country",
    "external_id",
    "cost",
    "sub1",
    "sub2",
    "sub3",
    "params",
)
EVENT_COLUMNS = (
    "workspace_id",
    "click_created_at",
    "click_id",
    "type_id",
    "txid",
    "dedup_txid",
    "status",
    "amount",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    id: int
    traffic_source_id: int
    # The source's own click id comes along (gclid, ...) for sources that have one.
    external_ids: bool
    offers: tuple[tuple[int, Decimal], ...]  # (offer id, payout)
    cost: Decimal
    conversion_rate: float


@dataclass(frozen=True, slots=True)
class Workspace:
    id: int
    campaigns: tuple[CampaignSpec, ...]
    conversion_type_id: int
    transaction_type_id: int


@dataclass(frozen=True, slots=True)
class LoadResult:
    clicks: int
    events: int
    seconds: float


async def seed_workspace(engine: AsyncEngine, rng: random.Random, campaigns: int) -> Workspace:
    """One workspace in Berlin time: campaigns over 8 sources with 1-3 offers each."""
    specs = []
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        created = await create_workspace(session, name="Bench API", timezone=TIMEZONE)
        workspace_id = created.workspace.id
        assert workspace_id is not None
        for n in range(campaigns):
            source_name, click_id_param = SOURCES[n % len(SOURCES)]
            payout = _money(rng.uniform(1, 40))
            new = await create_campaign(
                session,
                workspace_id=workspace_id,
                name=f"{VERTICALS[n % len(VERTICALS)]} {COUNTRIES[n % 12]} {n + 1:02d}",
                offer_url="https://offer.example/land?cid={clickid}&s1={sub1}",
                source_name=source_name,
                source_click_id_param=click_id_param,
                cost_model=CostModel.CPC,
                cost_value=_money(rng.uniform(0.01, 0.4)),
                payout=payout,
            )
            campaign = new.campaign
            assert campaign.id is not None
            assert new.offer.id is not None
            assert campaign.traffic_source_id is not None
            offers = [(new.offer.id, payout)]
            for extra in range(rng.randint(0, 2)):
                offer = Offer(
                    workspace_id=workspace_id,
                    name=f"{campaign.name} offer {extra + 2}",
                    url=f"https://offer{extra + 2}.example/?cid={{clickid}}",
                    payout=_money(rng.uniform(1, 40)),
                    currency="USD",
                )
                session.add(offer)
                await session.flush()
                assert offer.id is not None
                assert offer.payout is not None
                session.add(
                    CampaignOffer(
                        workspace_id=workspace_id, campaign_id=campaign.id, offer_id=offer.id
                    )
                )
                offers.append((offer.id, offer.payout))
            specs.append(
                CampaignSpec(
                    id=campaign.id,
                    traffic_source_id=campaign.traffic_source_id,
                    external_ids=click_id_param is not None,
                    offers=tuple(offers),
                    cost=campaign.cost_value,
                    # Mean ~0.105 over human clicks: a tenth of all clicks convert.
                    conversion_rate=rng.uniform(0.05, 0.16),
                )
            )
        types: dict[str, int] = {
            name: type_id
            for name, type_id in (
                await session.execute(
                    select(ConversionType.name, ConversionType.id).where(
                        col(ConversionType.workspace_id) == workspace_id
                    )
                )
            ).tuples()
            if type_id is not None
        }
        await session.commit()
    return Workspace(
        workspace_id, tuple(specs), types[DEFAULT_CONVERSION_TYPE], types[TRANSACTION_TYPE]
    )


async def load(
    engine: AsyncEngine, conn: asyncpg.Connection, *, clicks: int, seed: int, now: datetime
) -> tuple[Workspace, LoadResult]:
    """Seed the catalog, then COPY ``clicks`` clicks of the last 90 days and their events."""
    rng = random.Random(seed)
    workspace = await seed_workspace(engine, rng, campaigns=40)
    async with engine.begin() as sa_conn:
        await ensure_partitions(sa_conn, since=now - timedelta(days=DAYS), until=now)
    started = time.perf_counter()
    events: list[Row] = []
    rows = _clicks(rng, workspace, clicks, now, events)
    copying: asyncio.Task[None] | None = None
    pending_events: list[Row] = []
    copied_clicks = copied_events = 0
    report_every = max(BATCH_ROWS, clicks // 10)
    analyze_at = BATCH_ROWS
    # Python generates the next batch in a thread while PostgreSQL, on the other core, takes in
    # the previous one: the load costs the slower of the two rather than their sum.
    while batch := await asyncio.to_thread(list, islice(rows, BATCH_ROWS)):
        # The generator is suspended: the events so far belong to clicks generated so far.
        pending_events += events
        events.clear()
        if copying is not None:
            await copying
        if copied_clicks >= analyze_at:
            # With autovacuum off (the bench server runs so), COPY into fresh partitions slowed
            # from 25.6k to ~5k rows/s until statistics existed. Doubling the interval keeps
            # the ANALYZEs' total time a small share of the load's.
            await conn.execute("ANALYZE clicks, conversion_events")
            analyze_at *= 2
        # Events go after their clicks (they hold a foreign key to them), 10k at a time.
        ready: list[Row] = []
        if len(pending_events) >= BATCH_ROWS:
            ready, pending_events = pending_events, []
        copying = asyncio.create_task(_copy(conn, batch, ready))
        copied_clicks += len(batch)
        copied_events += len(ready)
        if copied_clicks % report_every < BATCH_ROWS:
            elapsed = time.perf_counter() - started
            print(
                f"  {copied_clicks:,} clicks, {copied_events:,} events "
                f"({(copied_clicks + copied_events) / elapsed:,.0f} rows/s)",
                flush=True,
            )
    if copying is not None:
        await copying
    await _copy(conn, [], pending_events + events)
    copied_events += len(pending_events) + len(events)
    return workspace, LoadResult(copied_clicks, copied_events, time.perf_counter() - started)


async def _copy(conn: asyncpg.Connection, clicks: list[Row], events: list[Row]) -> None:
    if clicks:
        await conn.copy_records_to_table("clicks", records=clicks, columns=CLICK_COLUMNS)
    if events:
        await conn.copy_records_to_table("conversion_events", records=events, columns=EVENT_COLUMNS)


def _clicks(
    rng: random.Random,
    workspace: Workspace,
    total: int,
    now: datetime,
    events: list[Row],
) -> Iterator[Row]:
    """Click rows in time order, hour by hour; each click's events are appended to ``events``.

    Columns are drawn a whole hour at a time (`choices(k=n)` is far cheaper per value than a
    call per click), then zipped into rows.
    """
    w = workspace.id
    campaigns = workspace.campaigns
    campaign_weights = _zipf(len(campaigns), 0.8)
    country_weights = _zipf(len(COUNTRIES), 1.0)
    device_weights = _cumulative([d[3] for d in DEVICES])
    sub1s, sub1_weights = [f"site{i:04d}" for i in range(200)], _zipf(200, 1.1)
    sub2s, sub2_weights = [f"cr{i:02d}" for i in range(30)], _zipf(30, 0.7)
    sub3s, sub3_weights = [f"kw{i:04d}" for i in range(1000)], _zipf(1000, 1.0)
    for start, seconds, n in _hours(rng, total, now):
        times = sorted(start + timedelta(seconds=rng.random() * seconds) for _ in range(n))
        columns = zip(
            times,
            rng.choices(campaigns, cum_weights=campaign_weights, k=n),
            rng.choices(COUNTRIES, cum_weights=country_weights, k=n),
            rng.choices(DEVICES, cum_weights=device_weights, k=n),
            rng.choices(sub1s, cum_weights=sub1_weights, k=n),
            rng.choices(sub2s, cum_weights=sub2_weights, k=n),
            rng.choices(sub3s, cum_weights=sub3_weights, k=n),
            strict=True,
        )
        for at, campaign, country, device, sub1, sub2, sub3 in columns:
            click_id, created_at = new_click_id(at)
            offer_id, payout = rng.choice(campaign.offers)
            is_bot = rng.random() < BOT_SHARE
            if is_bot:
                device_type, os, (browser, user_agent) = "bot", None, rng.choice(BOTS)
            else:
                device_type, os, browser, _, user_agent = device
            yield (
                w,
                created_at,
                click_id,
                campaign.id,
                offer_id,
                campaign.traffic_source_id,
                IPv4Address(rng.getrandbits(32)),
                user_agent,
                device_type,
                os,
                browser,
                is_bot,
                rng.random() < UNIQUE_SHARE,
                country,
                f"{rng.getrandbits(64):016x}" if campaign.external_ids else None,
                campaign.cost,
                sub1,
                sub2,
                sub3,
                # The values are plain identifiers: no JSON escaping needed.
                f'{{"sub1": "{sub1}", "sub2": "{sub2}", "sub3": "{sub3}"}}',
            )
            if not is_bot and rng.random() < campaign.conversion_rate:
                _events(rng, workspace, events, click_id, created_at, payout, now)


def _events(
    rng: random.Random,
    workspace: Workspace,
    events: list[Row],
    click_id: str,
    clicked_at: datetime,
    payout: Decimal,
    now: datetime,
) -> None:
    """A conversion minutes to days after the click, for a third of them 1-3 transactions."""
    # Log-normal: the median converter takes ~40 minutes, a long tail takes days.
    converted_at = clicked_at + timedelta(seconds=60 + rng.lognormvariate(7.8, 1.6))
    if converted_at > now:
        return
    status = rng.choices(STATUSES, weights=CONVERSION_STATUS_WEIGHTS)[0]
    txid = f"{rng.getrandbits(48):012x}"
    w = workspace.id
    events.append(
        (w, clicked_at, click_id, workspace.conversion_type_id, txid, "", status, payout,
         converted_at, converted_at)
    )  # fmt: skip
    if rng.random() >= TRANSACTING_SHARE:
        return
    at = converted_at
    for n in range(rng.randint(1, 3)):
        at += timedelta(seconds=rng.lognormvariate(9.5, 1.5))
        if at > now:
            return
        status = rng.choices(STATUSES, weights=TRANSACTION_STATUS_WEIGHTS)[0]
        transaction_id = f"{txid}-{n + 1}"
        events.append(
            (w, clicked_at, click_id, workspace.transaction_type_id, transaction_id,
             transaction_id, status, _money(rng.uniform(5, 150)), at, at)
        )  # fmt: skip


def _hours(rng: random.Random, total: int, now: datetime) -> Iterator[tuple[datetime, float, int]]:
    """(UTC hour start, seconds of it within the window, clicks) over the last 90 days.

    Clicks follow the local hour of day and day of week with a slow upward trend and some daily
    noise; cumulative rounding makes the counts add up to ``total`` exactly.
    """
    zone = ZoneInfo(TIMEZONE)
    start = now - timedelta(days=DAYS)
    first = start.replace(minute=0, second=0, microsecond=0)
    hours = []
    day_noise: dict[date, float] = {}
    at = first
    while at < now:
        local = at.astimezone(zone)
        noise = day_noise.setdefault(local.date(), rng.uniform(0.9, 1.1))
        trend = 0.8 + 0.4 * (at - first) / (now - first)
        begin, end = max(at, start), min(at + timedelta(hours=1), now)
        seconds = (end - begin).total_seconds()
        weight = HOUR_WEIGHTS[local.hour] * WEEKDAY_WEIGHTS[local.weekday()] * noise * trend
        hours.append((begin, seconds, weight * seconds / 3600))
        at += timedelta(hours=1)
    scale = total / sum(h[2] for h in hours)
    done, cumulative = 0, 0.0
    for begin, seconds, weight in hours:
        cumulative += weight * scale
        n = round(cumulative) - done
        done += n
        if n:
            yield begin, seconds, n


def _zipf(n: int, exponent: float) -> list[float]:
    return _cumulative([1 / (rank + 1) ** exponent for rank in range(n)])


def _cumulative(weights: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def _money(value: float) -> Decimal:
    return Decimal(math.floor(value * 100)).scaleb(-2)
