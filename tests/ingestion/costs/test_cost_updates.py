"""Cost updates applied to real clicks: exact totals, filters, currencies, batches, resumption."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.workspaces.service import create_workspace
from ingestion.costs.apportion import batch_share, spread_evenly
from ingestion.costs.service import CostUpdateWorker, apply_cost_updates
from models import CurrencyRate
from models.click import CLICK_COLUMNS
from models.click_ids import new_click_id
from models.cost_requests import (
    PLAN_LOCK_CLASS,
    ClickScope,
    CostRequest,
    CostRequestError,
    CostUpdateProgress,
    cost_update_progress,
    take_cost_update,
)
from models.database import driver_connection
from models.enums import CostUpdateMode
from models.partitions import ensure_partitions
from models.rollups import rebuild_rollups
from tests.ingestion.conftest import TrackedCampaign, count
from tests.models.test_rollups import assert_rollups_match_raw_tables

# A month no other test writes clicks in.
START = datetime(2030, 3, 10, tzinfo=UTC)
DAY = timedelta(days=1)


async def add_clicks(
    engine: AsyncEngine,
    campaign: TrackedCampaign,
    moments: list[datetime],
    *,
    campaign_id: int | None = None,
    **values: Any,
) -> list[str]:
    """Clicks written straight into the table, then counted into the rollups by a rebuild (as
    a hand-made row is); ``values``: columns every one of them has."""
    async with engine.begin() as conn:
        await ensure_partitions(conn, since=min(moments), until=max(moments))
    rows, ids = [], []
    for moment in moments:
        click_id, created_at = new_click_id(moment)
        row = {
            "workspace_id": campaign.workspace_id,
            "created_at": created_at,
            "id": click_id,
            "campaign_id": campaign_id or campaign.campaign_id,
            "offer_id": campaign.offer_id,
            "cost": Decimal("0.05"),
            "is_bot": False,
            "is_unique": True,
            "params": "{}",
            **values,
        }
        rows.append(tuple(row.get(column) for column in CLICK_COLUMNS))
        ids.append(click_id)
    async with driver_connection(engine) as conn:
        await conn.copy_records_to_table("clicks", records=rows, columns=CLICK_COLUMNS)
    async with engine.begin() as conn:
        await rebuild_rollups(conn, workspace_id=campaign.workspace_id)
    return ids


def every_minute(count: int, start: datetime = START) -> list[datetime]:
    return [start + timedelta(minutes=i) for i in range(count)]


def request(
    campaign: TrackedCampaign,
    amount: str,
    *,
    mode: CostUpdateMode = CostUpdateMode.TOTAL,
    starts_at: datetime = START,
    ends_at: datetime = START + DAY,
    currency: str | None = None,
    request_id: str | None = None,
    **narrowing: Any,
) -> CostRequest:
    return CostRequest(
        workspace_id=campaign.workspace_id,
        scope=ClickScope(
            campaign_id=narrowing.pop("campaign_id", campaign.campaign_id),
            starts_at=starts_at,
            ends_at=ends_at,
            **narrowing,
        ),
        mode=mode,
        amount=Decimal(amount),
        currency=currency,
        request_id=request_id,
    )


async def record(
    engine: AsyncEngine,
    asked: CostRequest,
    *,
    batch_clicks: int = 4,
    plan_clicks: int = 5,
    on_chunk: Callable[[int], None] | None = None,
) -> CostUpdateProgress:
    async with driver_connection(engine) as conn:
        return await take_cost_update(
            conn, asked, batch_clicks=batch_clicks, plan_clicks=plan_clicks, on_chunk=on_chunk
        )


async def progress(engine: AsyncEngine, workspace_id: int, update_id: int) -> CostUpdateProgress:
    async with driver_connection(engine) as conn:
        found = await cost_update_progress(conn, workspace_id=workspace_id, update_id=update_id)
    assert found is not None
    return found


async def costs(session: AsyncSession, ids: list[str]) -> list[Decimal]:
    """The clicks' costs, in the order of ``ids``."""
    rows = await session.execute(
        text("SELECT id, cost FROM clicks WHERE id = ANY(:ids)"), {"ids": ids}
    )
    found: dict[str, Decimal] = {row.id: row.cost for row in rows}
    return [found[i] for i in ids]


def test_shares_sum_to_the_total_and_differ_by_one_millionth_at_most():
    assert spread_evenly(100_000_000, 3) == [33_333_334, 33_333_333, 33_333_333]
    assert spread_evenly(2, 5) == [1, 1, 0, 0, 0]
    # Batches of a plan of 7 clicks as 4 + 3: the second takes what the first left.
    first = batch_share(100_000_000, 7, 4, 0)
    assert first + batch_share(100_000_000, 7, 7, first) == 100_000_000


async def test_a_total_is_spread_exactly_over_the_matching_clicks_in_batches(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    ids = await add_clicks(engine, campaign, every_minute(7))
    before = await add_clicks(engine, campaign, [START - timedelta(seconds=1)])
    after = await add_clicks(engine, campaign, [START + DAY])

    update = await record(engine, request(campaign, "100"))
    assert (update.planned_clicks, update.batches, update.finished) == (7, 2, False)
    assert await apply_cost_updates(engine, workspace_id=campaign.workspace_id)

    spread = await costs(session, ids)
    assert sum(spread) == Decimal("100")
    assert set(spread) == {Decimal("14.285714"), Decimal("14.285715")}
    # The range is from <= time < to.
    assert await costs(session, before + after) == [Decimal("0.05")] * 2
    done = await progress(engine, campaign.workspace_id, update.id)
    assert done.finished
    assert (done.clicks_touched, done.old_total, done.new_total) == (
        7,
        Decimal("0.35"),
        Decimal("100"),
    )
    assert (done.batches, done.batches_applied) == (2, 2)
    assert await count(session, "SELECT count(*) FROM cost_update_queue") == 0
    await assert_rollups_match_raw_tables(session)


class ProcessDied(Exception):
    pass


def die_after(chunks: int) -> Callable[[int], None]:
    """An ``on_chunk`` that ends the planning session's work after ``chunks`` chunks."""
    done = 0

    def chunk_done(update_id: int) -> None:
        nonlocal done
        done += 1
        if done == chunks:
            raise ProcessDied

    return chunk_done


async def plan_cuts(engine: AsyncEngine, workspace_id: int, update_id: int) -> list[int]:
    async with driver_connection(engine) as conn:
        rows = await conn.fetch(
            "SELECT planned_through FROM cost_update_batches "
            "WHERE workspace_id = $1 AND update_id = $2 ORDER BY batch",
            workspace_id,
            update_id,
        )
    return [row["planned_through"] for row in rows]


async def test_a_plan_reads_a_bounded_chunk_of_clicks_per_statement_and_counts_each_once(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    moments = every_minute(23)
    german = await add_clicks(engine, campaign, moments[::3], country="DE")
    others = await add_clicks(
        engine, campaign, [m + timedelta(seconds=1) for m in moments[1::3]], country="FR"
    )
    others += await add_clicks(engine, campaign, moments[2::3])
    chunks: list[int] = []
    update = await record(
        engine, request(campaign, "8", country="DE"), batch_clicks=3, plan_clicks=5,
        on_chunk=chunks.append,
    )  # fmt: skip
    # 22 clicks of the campaign read 5 at a time (the fifth chunk reads 2 and ends the plan),
    # whether they match or not; 8 of them match, cut every 3.
    assert len(chunks) == 5
    assert (update.planned_clicks, update.batches, update.planned) == (8, 3, True)
    assert await plan_cuts(engine, campaign.workspace_id, update.id) == [3, 6, 8]
    assert await apply_cost_updates(engine, workspace_id=campaign.workspace_id)
    assert await costs(session, german) == [Decimal(1)] * 8
    assert await costs(session, others) == [Decimal("0.05")] * 15
    await assert_rollups_match_raw_tables(session)


@pytest.mark.parametrize("chunks_before_dying", [1, 2, 4])
async def test_a_plan_interrupted_between_chunks_resumes_at_its_cursor(
    session: AsyncSession,
    engine: AsyncEngine,
    campaign: TrackedCampaign,
    chunks_before_dying: int,
):
    ids = await add_clicks(engine, campaign, every_minute(23))
    asked = request(campaign, "23", request_id="resume-me")
    with pytest.raises(ProcessDied):
        await record(engine, asked, plan_clicks=5, on_chunk=die_after(chunks_before_dying))
    (update_id,) = [row.id for row in await session.execute(text("SELECT id FROM cost_updates"))]
    half = await progress(engine, campaign.workspace_id, update_id)
    assert (half.planned, half.planned_clicks) == (False, 5 * chunks_before_dying)
    # Cut every 4 of the 5 * chunks read so far; the rest waits for the next chunk.
    assert half.batches == 5 * chunks_before_dying // 4
    # No worker applies half a plan; one that finds it abandoned finishes it first.
    await CostUpdateWorker(engine, batch_clicks=4, plan_clicks=5).run_queued()
    done = await progress(engine, campaign.workspace_id, update_id)
    assert (done.planned, done.finished, done.planned_clicks) == (True, True, 23)
    assert await plan_cuts(engine, campaign.workspace_id, update_id) == [4, 8, 12, 16, 20, 23]
    assert (done.clicks_touched, done.new_total) == (23, Decimal(23))
    assert await costs(session, ids) == [Decimal(1)] * 23
    await assert_rollups_match_raw_tables(session)
    # The requester's retry finds it done.
    again = await record(engine, asked, plan_clicks=5)
    assert (again.id, again.created, again.finished) == (update_id, False, True)


async def test_a_retry_finishes_the_plan_its_first_request_left(
    engine: AsyncEngine, campaign: TrackedCampaign
):
    await add_clicks(engine, campaign, every_minute(12))
    asked = request(campaign, "6", request_id="retried")
    with pytest.raises(ProcessDied):
        await record(engine, asked, plan_clicks=5, on_chunk=die_after(1))
    again = await record(engine, asked, plan_clicks=5)
    assert (again.created, again.planned, again.planned_clicks, again.batches) == (
        False,
        True,
        12,
        3,
    )


async def test_a_plan_another_session_is_making_holds_back_the_workspaces_later_updates(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    ids = await add_clicks(engine, campaign, every_minute(12))
    with pytest.raises(ProcessDied):
        await record(engine, request(campaign, "12"), plan_clicks=5, on_chunk=die_after(1))
    (first,) = [row.id for row in await session.execute(text("SELECT id FROM cost_updates"))]
    later = await record(engine, request(campaign, "0.5", mode=CostUpdateMode.PER_CLICK))
    async with driver_connection(engine) as planner:
        # As its requester, still planning, holds it.
        assert await planner.fetchval("SELECT pg_try_advisory_lock($1, $2)", PLAN_LOCK_CLASS, first)
        assert await apply_cost_updates(engine, workspace_id=campaign.workspace_id)
        assert not (await progress(engine, campaign.workspace_id, first)).planned
        assert (await progress(engine, campaign.workspace_id, later.id)).batches_applied == 0
        assert await costs(session, ids) == [Decimal("0.05")] * 12
        await planner.execute("SELECT pg_advisory_unlock_all()")
    assert await apply_cost_updates(engine, workspace_id=campaign.workspace_id, plan_clicks=5)
    # In the order requested: the later update's cost per click wins.
    assert await costs(session, ids) == [Decimal("0.5")] * 12
    assert (await progress(engine, campaign.workspace_id, first)).finished


async def test_a_total_over_no_clicks_found_by_a_worker_leaves_no_update_and_a_retry_says_why(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    ids = await add_clicks(engine, campaign, every_minute(12), country="DE")
    asked = request(campaign, "5", country="FR", request_id="no-french-clicks")
    with pytest.raises(ProcessDied):
        await record(engine, asked, plan_clicks=5, on_chunk=die_after(1))
    assert await count(session, "SELECT count(*) FROM cost_updates") == 1
    await CostUpdateWorker(engine, plan_clicks=5).run_queued()
    assert await count(session, "SELECT count(*) FROM cost_updates") == 0
    assert await count(session, "SELECT count(*) FROM cost_update_batches") == 0
    assert await count(session, "SELECT count(*) FROM cost_update_queue") == 0
    with pytest.raises(CostRequestError, match="nothing to spread the total over"):
        await record(engine, asked, plan_clicks=5)
    assert await costs(session, ids) == [Decimal("0.05")] * 12


async def add_rates(session: AsyncSession, workspace_id: int, *rates: tuple[datetime, str]) -> None:
    session.add_all(
        CurrencyRate(workspace_id=workspace_id, currency="EUR", valid_from=at, rate=Decimal(rate))
        for at, rate in rates
    )
    await session.commit()


async def test_a_cost_per_click_in_another_currency_takes_the_rate_of_each_clicks_time(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    # Three clicks a day apart over two rate changes, at 00:00 of the second and third day.
    ids = await add_clicks(
        engine, campaign, [START + DAY * i + timedelta(hours=12) for i in range(3)]
    )
    await add_rates(
        session,
        campaign.workspace_id,
        (START - DAY, "0.9"),
        (START + DAY, "2"),
        (START + 2 * DAY, "1.0837"),
    )
    update = await record(
        engine,
        request(
            campaign,
            "0.125",
            mode=CostUpdateMode.PER_CLICK,
            currency="eur",
            ends_at=START + 3 * DAY,
        ),
    )
    # The record names the rate at the range's start and the amount at it.
    assert (update.currency, update.converted_amount) == ("EUR", Decimal("0.1125"))
    await apply_cost_updates(engine, workspace_id=campaign.workspace_id)
    # 0.125 at 0.9, at 2 and at 1.0837 (0.13546250 rounded half up).
    assert await costs(session, ids) == [Decimal("0.1125"), Decimal("0.25"), Decimal("0.135463")]
    done = await progress(engine, campaign.workspace_id, update.id)
    assert done.new_total == Decimal("0.497963")
    await assert_rollups_match_raw_tables(session)


async def test_a_total_in_another_currency_is_spread_in_it_and_converted_at_each_clicks_rate(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    # 7 clicks, an hour apart; the rate changes between the 3rd and 4th, inside the 1st batch
    # of 4, and again after the 6th, inside the 2nd batch.
    ids = await add_clicks(engine, campaign, [START + timedelta(hours=i) for i in range(7)])
    await add_rates(
        session,
        campaign.workspace_id,
        (START - DAY, "0.9"),
        (START + timedelta(hours=2, minutes=30), "2"),
        (START + timedelta(hours=5, minutes=30), "0.3333333333"),
    )
    update = await record(engine, request(campaign, "100", currency="EUR"), batch_clicks=4)
    await apply_cost_updates(engine, workspace_id=campaign.workspace_id)
    spread = await costs(session, ids)
    # EUR 100 over 7 clicks: 14.285715 for the first (4 + 3 batches: the first batch's
    # 57.142857 splits 14.285715, 14.285714 x 3; the second's 42.857143 splits 14.285715,
    # 14.285714 x 2), each click's part converted at its time's rate, run by run.
    eur = [Decimal(x) for x in ("14.285715", "14.285714", "14.285714", "14.285714")] + [
        Decimal(x) for x in ("14.285715", "14.285714", "14.285714")
    ]
    assert sum(eur) == 100
    runs = [
        (Decimal("0.9"), eur[0:3]),  # batch 1, before the first change
        (Decimal("2"), eur[3:4]),  # batch 1, after it
        (Decimal("2"), eur[4:6]),  # batch 2, before the second change
        (Decimal("0.3333333333"), eur[6:7]),
    ]
    expected_runs = [
        (sum(part) * rate).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
        for rate, part in runs
    ]
    assert sum(spread[0:3]) == expected_runs[0]
    assert spread[3] == expected_runs[1]
    assert sum(spread[4:6]) == expected_runs[2]
    assert spread[6] == expected_runs[3]
    assert spread[0:3] == [Decimal("12.857143")] * 3
    assert spread[3:6] == [Decimal("28.571428"), Decimal("28.571429"), Decimal("28.571429")]
    assert spread[6] == Decimal("4.761905")
    done = await progress(engine, campaign.workspace_id, update.id)
    assert done.new_total == sum(spread)
    await assert_rollups_match_raw_tables(session)


async def test_a_rate_later_in_the_range_that_makes_a_cost_too_large_is_refused_at_once(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    await add_clicks(engine, campaign, [START, START + DAY + timedelta(hours=1)])
    await add_rates(session, campaign.workspace_id, (START - DAY, "1"), (START + DAY, "1e9"))
    per_click = request(
        campaign, "5000", mode=CostUpdateMode.PER_CLICK, currency="EUR", ends_at=START + 2 * DAY
    )
    with pytest.raises(CostRequestError, match=r"at the stored rate of 1000000000\.0000000000"):
        await record(engine, per_click)
    # A total too: found once the plan has counted its clicks.
    total = request(campaign, "3000", currency="EUR", ends_at=START + 2 * DAY)
    with pytest.raises(CostRequestError, match="a click's cost must be below"):
        await record(engine, total)
    assert await count(session, "SELECT count(*) FROM cost_updates") == 0


async def test_clicks_before_every_rate_left_are_converted_at_the_updates_own_rate(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    ids = await add_clicks(engine, campaign, every_minute(3))
    await add_rates(session, campaign.workspace_id, (START - DAY, "0.5"))
    update = await record(
        engine, request(campaign, "1", mode=CostUpdateMode.PER_CLICK, currency="EUR")
    )
    # The rate is deleted before the batches run (deleteCurrencyRate).
    await session.execute(text("DELETE FROM currency_rates"))
    await session.commit()
    await apply_cost_updates(engine, workspace_id=campaign.workspace_id)
    assert await costs(session, ids) == [Decimal("0.5")] * 3
    assert (await progress(engine, campaign.workspace_id, update.id)).new_total == Decimal("1.5")


async def test_filters_narrow_the_clicks_to_a_source_a_country_and_a_sub_value(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    source = campaign.source_id
    wanted = await add_clicks(
        engine, campaign, every_minute(3), traffic_source_id=source, country="DE", sub3="banner"
    )
    others = [
        *await add_clicks(engine, campaign, every_minute(2), country="DE", sub3="banner"),
        *await add_clicks(
            engine, campaign, every_minute(2), traffic_source_id=source, country="FR", sub3="banner"
        ),
        *await add_clicks(
            engine, campaign, every_minute(2), traffic_source_id=source, country="DE", sub3="text"
        ),
        *await add_clicks(
            engine, campaign, every_minute(2), traffic_source_id=source, sub3="banner"
        ),
    ]
    update = await record(
        engine,
        request(
            campaign,
            "1.5",
            traffic_source_id=source,
            country="de",
            sub_number=3,
            sub_value="banner",
        ),
    )
    assert update.planned_clicks == 3
    await apply_cost_updates(engine, workspace_id=campaign.workspace_id)
    assert await costs(session, wanted) == [Decimal("0.5")] * 3
    assert await costs(session, others) == [Decimal("0.05")] * len(others)
    await assert_rollups_match_raw_tables(session)


async def test_an_interrupted_update_resumes_and_applies_each_batch_once(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    ids = await add_clicks(engine, campaign, every_minute(10))
    update = await record(engine, request(campaign, "10"), batch_clicks=3)

    def die(update_id: int, clicks: int) -> None:
        raise ProcessDied

    with pytest.raises(ProcessDied):
        await apply_cost_updates(engine, workspace_id=campaign.workspace_id, on_batch=die)
    half = await progress(engine, campaign.workspace_id, update.id)
    assert (half.batches_applied, half.clicks_touched, half.finished) == (1, 3, False)
    assert await costs(session, ids[:4]) == [Decimal(1)] * 3 + [Decimal("0.05")]
    # A worker (as a restarted ingestion process runs one) finds the update and finishes it.
    await CostUpdateWorker(engine).run_queued()
    done = await progress(engine, campaign.workspace_id, update.id)
    assert (done.batches_applied, done.clicks_touched, done.new_total) == (4, 10, Decimal(10))
    assert done.old_total == Decimal("0.5")
    assert await costs(session, ids) == [Decimal(1)] * 10
    # Applying again finds nothing left to do.
    assert await apply_cost_updates(engine, workspace_id=campaign.workspace_id)
    assert (await progress(engine, campaign.workspace_id, update.id)).clicks_touched == 10
    await assert_rollups_match_raw_tables(session)


async def test_a_retry_with_the_same_request_id_finds_the_update_instead_of_repeating_it(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    await add_clicks(engine, campaign, every_minute(3))
    first = await record(engine, request(campaign, "3", request_id="spend-2030-03-10"))
    again = await record(engine, request(campaign, "3", request_id="spend-2030-03-10"))
    assert (again.id, again.created, first.created) == (first.id, False, True)
    assert await count(session, "SELECT count(*) FROM cost_updates") == 1
    with pytest.raises(CostRequestError, match="was used for another update") as refused:
        await record(engine, request(campaign, "4", request_id="spend-2030-03-10"))
    assert refused.value.field == "requestId"
    # Without a request id every request is an update of its own.
    await record(engine, request(campaign, "3"))
    assert await count(session, "SELECT count(*) FROM cost_updates") == 2


async def test_updates_of_a_workspace_apply_in_the_order_they_were_requested(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    ids = await add_clicks(engine, campaign, every_minute(4))
    await record(engine, request(campaign, "8"))
    await record(engine, request(campaign, "0.25", mode=CostUpdateMode.PER_CLICK))
    await apply_cost_updates(engine, workspace_id=campaign.workspace_id)
    assert await costs(session, ids) == [Decimal("0.25")] * 4
    await assert_rollups_match_raw_tables(session)


async def test_a_workspace_being_updated_by_another_session_is_left_to_it(
    engine: AsyncEngine, campaign: TrackedCampaign
):
    await add_clicks(engine, campaign, every_minute(2))
    update = await record(engine, request(campaign, "2"))
    async with driver_connection(engine) as holder:
        assert await holder.fetchval(
            "SELECT pg_try_advisory_lock($1, $2)", 0x636F7374, campaign.workspace_id
        )
        assert not await apply_cost_updates(engine, workspace_id=campaign.workspace_id)
        await holder.execute("SELECT pg_advisory_unlock_all()")
    assert await apply_cost_updates(engine, workspace_id=campaign.workspace_id)
    assert (await progress(engine, campaign.workspace_id, update.id)).finished


async def test_the_ingestion_service_applies_queued_updates_in_the_background(
    session: AsyncSession,
    engine: AsyncEngine,
    campaign: TrackedCampaign,
    ingestion_client: AsyncTestClient[Any],
):
    ids = await add_clicks(engine, campaign, every_minute(2))
    update = await record(engine, request(campaign, "0.5"))
    await _eventually(lambda: _finished(engine, campaign.workspace_id, update.id))
    assert await costs(session, ids) == [Decimal("0.25")] * 2


async def test_a_total_needs_clicks_and_a_cost_per_click_over_none_is_done_at_once(
    engine: AsyncEngine, campaign: TrackedCampaign
):
    with pytest.raises(CostRequestError, match="nothing to spread the total over"):
        await record(engine, request(campaign, "5"))
    update = await record(engine, request(campaign, "5", mode=CostUpdateMode.PER_CLICK))
    assert (update.planned_clicks, update.batches, update.finished) == (0, 0, True)


NAN = "NaN"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amount": "-1"}, "amount", "0 or more"),
        ({"amount": NAN}, "amount", "0 or more"),
        ({"amount": "Infinity"}, "amount", "0 or more"),
        ({"amount": "1e18"}, "amount", "below 1,000,000,000,000,000,000"),
        ({"amount": "1e400"}, "amount", "below 1,000,000,000,000,000,000"),
        ({"amount": "0.0000001"}, "amount", "at most 6 decimal places"),
        ({"amount": "1e12", "mode": CostUpdateMode.PER_CLICK}, "amount", "below 1,000,000,000,000"),
        ({"ends_at": START - DAY}, "to", "to must be after from"),
        ({"ends_at": START}, "to", "to must be after from"),
        ({"ends_at": START + timedelta(days=367)}, "to", "at most 366 days"),
        ({"starts_at": datetime(2030, 3, 10)}, "from", "time zone offset"),
        ({"starts_at": datetime(1900, 1, 1, tzinfo=UTC)}, "from", "between 1970-01-01"),
        ({"sub_number": 3, "sub_value": "a\x00b"}, "sub", "NUL"),
        ({"sub_number": 21, "sub_value": "x"}, "sub", "from 1 to 20"),
        ({"sub_number": 3}, "sub", "both its number and its value"),
        ({"country": "Germany"}, "country", "two-letter"),
        ({"currency": "US"}, "currency", "three-letter"),
        ({"currency": "GBP"}, "currency", "no GBP -> USD rate valid at"),
        ({"request_id": "x" * 101}, "requestId", "at most 100"),
        ({"request_id": "a\x00"}, "requestId", "NUL"),
        ({"campaign_id": 2**62}, "campaignId", "no campaign with id"),
        ({"traffic_source_id": 2**62}, "trafficSourceId", "no traffic source with id"),
    ],
)
async def test_requests_that_cannot_be_taken_say_why_and_record_nothing(
    session: AsyncSession,
    engine: AsyncEngine,
    campaign: TrackedCampaign,
    changes: dict[str, Any],
    field: str,
    message: str,
):
    await add_clicks(engine, campaign, every_minute(1))
    asked = request(campaign, changes.pop("amount", "1"), **changes)
    with pytest.raises(CostRequestError, match=message) as refused:
        await record(engine, asked)
    assert refused.value.field == field
    assert await count(session, "SELECT count(*) FROM cost_updates") == 0


async def test_amounts_past_the_cost_column_after_conversion_are_refused(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    await add_clicks(engine, campaign, every_minute(2))
    session.add(
        CurrencyRate(
            workspace_id=campaign.workspace_id,
            currency="IDR",
            valid_from=START - DAY,
            rate=Decimal("2000"),
        )
    )
    await session.commit()
    per_click = request(campaign, "500000000", mode=CostUpdateMode.PER_CLICK, currency="IDR")
    with pytest.raises(CostRequestError, match=r"is USD 1000000000000\.000000: a click's cost"):
        await record(engine, per_click)
    # Rounding to millionths alone can reach the bound.
    rounded = request(campaign, "999999999999.999999", mode=CostUpdateMode.PER_CLICK)
    await record(engine, rounded)
    with pytest.raises(CostRequestError, match=r"up to 1000000000000\.000000 a click"):
        await record(engine, request(campaign, "2000000000000"))
    assert await count(session, "SELECT count(*) FROM cost_updates") == 1


async def test_another_workspaces_campaign_is_not_found(
    session: AsyncSession, engine: AsyncEngine, campaign: TrackedCampaign
):
    other = await create_workspace(session, name="Other")
    await session.commit()
    assert other.workspace.id is not None
    theirs = CostRequest(
        workspace_id=other.workspace.id,
        scope=ClickScope(campaign_id=campaign.campaign_id, starts_at=START, ends_at=START + DAY),
        mode=CostUpdateMode.PER_CLICK,
        amount=Decimal(1),
    )
    with pytest.raises(CostRequestError) as refused:
        await record(engine, theirs)
    assert refused.value.missing


async def _finished(engine: AsyncEngine, workspace_id: int, update_id: int) -> bool:
    return (await progress(engine, workspace_id, update_id)).finished


async def _eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, "not done in time"
        await asyncio.sleep(0.05)
