"""The fault run's checker: a storm without faults passes it; it sees what is lost or doubled."""

import asyncio
import random
import time
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import text

from bench.exactly_once import ClickRequest, Hit, Ledger, Stored, StoredEvent, read_stored, verdict
from bench.faults import Traffic, make_plan, send
from bench.load import CAMPAIGN_KEY, seed
from models.enums import DuplicatePolicy, HitOutcome


async def test_a_duplicate_storm_is_stored_once_per_key(engine, ingestion_client):
    seeded = await seed(engine)
    plan = await make_plan(engine, seeded.workspace_id, transactions=2, additions=2, copies=4)
    ledger, traffic, rng = Ledger(), Traffic(), random.Random(1)
    for tag in ("r1", "r2"):
        response = await ingestion_client.get(
            f"/c/{CAMPAIGN_KEY}", params={"sub2": tag}, follow_redirects=False
        )
        ids = parse_qs(urlsplit(response.headers["location"]).query)["cid"]
        ledger.clicked(tag, ClickRequest(api=False, clicks=1, status=response.status_code), ids)
    copies = [copy for click_id in sorted(ledger.clicks) for copy in plan.copies_of(click_id, rng)]
    deadline = time.monotonic() + 30
    await asyncio.gather(
        *(
            send(ingestion_client, seeded.postback_secret, c, ledger, traffic, give_up_at=deadline)
            for c in copies
        )
    )
    async with engine.connect() as conn:
        stored = await read_stored(conn, seeded.workspace_id)

    result = verdict(ledger, stored)

    assert result.failures == {}
    # Per click: a conversion, two transactions, one event summing two additions.
    assert (result.keys_sent, result.keys_acknowledged, result.events_stored) == (8, 8, 8)
    assert traffic.requests == len(copies) == 40
    upsell = [e for e in stored.events if e.key[1] == "upsell"]
    assert {e.amount for e in upsell} == {Decimal(3)}

    async with engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM conversion_events WHERE id = :id"), {"id": upsell[0].id}
        )
        stored = await read_stored(conn, seeded.workspace_id)
    assert verdict(ledger, stored).lost == [f"{upsell[0].key} was acknowledged but is not stored"]


def test_an_event_acknowledged_as_new_twice_is_doubled():
    ledger = Ledger()
    hit = Hit("c1", "conversion", DuplicatePolicy.IGNORE, "", Decimal(2))
    ledger.answer(hit, HitOutcome.ACCEPTED, 7)
    ledger.answer(hit, HitOutcome.ACCEPTED, 7)
    stored = _stored(StoredEvent(7, hit.key, "", (), Decimal(2)))

    assert f"{hit.key} was answered 'accepted' 2 times" in verdict(ledger, stored).doubled


def test_an_addition_summed_twice_is_doubled():
    ledger = Ledger()
    first = Hit("c1", "upsell", DuplicatePolicy.ADD_AMOUNT, "A0", Decimal(1))
    second = Hit("c1", "upsell", DuplicatePolicy.ADD_AMOUNT, "A1", Decimal(2))
    ledger.answer(first, HitOutcome.ACCEPTED, 7)
    ledger.answer(second, HitOutcome.UPDATED, 7)
    stored = _stored(StoredEvent(7, first.key, "A1", ("A0", "A1", "A1"), Decimal(5)))

    assert verdict(ledger, stored).doubled == [
        f"{first.key} summed additions ['A1'] more than once"
    ]


def test_a_click_batch_answered_503_but_stored_fails():
    ledger = Ledger()
    ledger.clicked("r1", ClickRequest(api=True, clicks=5, status=503), [])
    ledger.clicked("r2", ClickRequest(api=True, clicks=5, status=None), [])
    stored = _stored(clicks_by_tag={"r1": 5, "r2": 5})

    result = verdict(ledger, stored)

    assert result.partial_clicks == ["POST /clicks r1 answered 503 but stored its 5 clicks"]
    # No answer at all: the service died after the commit; nothing promised, nothing broken.
    assert result.clicks_unanswered == 10


def _stored(*events: StoredEvent, clicks_by_tag: dict[str, int] | None = None) -> Stored:
    return Stored(
        clicks=frozenset(),
        clicks_by_tag=clicks_by_tag or {},
        events=events,
        accepted_log_rows={e.id: 1 for e in events},
        acknowledged_log_rows=10,
    )
