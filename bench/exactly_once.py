"""What a fault run sent and was told, what the database holds, and whether they agree.

The ledger records every acknowledged click id and every answer to every postback; the
stored state is read back once everything is up again. The verdict compares them key by key:
an acknowledged click or event that is not stored is lost; a dedup key stored twice, an
addition summed twice or an event acknowledged as new twice is doubled; an event nobody sent
is a phantom. `verdict` is a pure function, so the checker can be tested without a crash.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from models.conversion_rules import dedup_txid
from models.enums import DuplicatePolicy, HitOutcome

# Click id, conversion type name, dedup txid: the event's dedup key within one workspace.
EventKey = tuple[str, str, str]

# Answers that mean the event is committed.
ACKNOWLEDGED = frozenset({HitOutcome.ACCEPTED, HitOutcome.UPDATED, HitOutcome.DUPLICATE})
# Answers that say "this hit changed what is stored": at most one per hit, however often sent.
CHANGED = frozenset({HitOutcome.ACCEPTED, HitOutcome.UPDATED})


@dataclass(frozen=True, slots=True)
class Hit:
    """One postback as a network sends it, and sends it again."""

    click_id: str
    type_name: str
    policy: DuplicatePolicy
    txid: str
    amount: Decimal

    @property
    def key(self) -> EventKey:
        return (self.click_id, self.type_name, dedup_txid(self.policy, self.txid))

    def __str__(self) -> str:
        return f"{self.type_name} {self.txid or '(no txid)'} for click {self.click_id}"

    def params(self) -> dict[str, str]:
        params = {"clickid": self.click_id, "type": self.type_name, "sum": str(self.amount)}
        if self.txid:
            params["txid"] = self.txid
        return params


@dataclass(slots=True)
class Answers:
    """What ingestion answered to the copies of one hit."""

    results: Counter[HitOutcome] = field(default_factory=Counter)
    event_ids: set[int] = field(default_factory=set)
    # (HTTP status, error code) of refusals: none is expected for a well-formed postback.
    refusals: Counter[tuple[int, str]] = field(default_factory=Counter)

    @property
    def acknowledged(self) -> bool:
        return any(self.results[r] for r in ACKNOWLEDGED)


@dataclass(frozen=True, slots=True)
class ClickRequest:
    """A tracking-link visit or a `POST /clicks`; its clicks carry its tag in `sub2`."""

    api: bool
    clicks: int
    status: int | None  # None: no answer (refused or broken connection, timeout)


@dataclass(slots=True)
class Ledger:
    """Everything the fault run was told."""

    clicks: set[str] = field(default_factory=set)
    click_requests: dict[str, ClickRequest] = field(default_factory=dict)
    hits: dict[Hit, Answers] = field(default_factory=dict)

    def clicked(self, tag: str, request: ClickRequest, click_ids: list[str]) -> None:
        self.click_requests[tag] = request
        self.clicks.update(click_ids)

    def sent(self, hit: Hit) -> Answers:
        return self.hits.setdefault(hit, Answers())

    def answer(self, hit: Hit, result: HitOutcome, event_id: int) -> None:
        answers = self.sent(hit)
        answers.results[result] += 1
        answers.event_ids.add(event_id)

    def refused(self, hit: Hit, status: int, code: str) -> None:
        self.sent(hit).refusals[(status, code)] += 1


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    key: EventKey
    txid: str
    added_txids: tuple[str, ...]
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Stored:
    """What the database holds for the run's workspace."""

    clicks: frozenset[str]
    # Clicks stored per click request's tag.
    clicks_by_tag: dict[str, int]
    events: tuple[StoredEvent, ...]
    # Postback log rows that answered `accepted`, by the event they created.
    accepted_log_rows: dict[int, int]
    # Postback log rows whose hit was acknowledged (accepted, updated or duplicate).
    acknowledged_log_rows: int


async def read_stored(conn: AsyncConnection, workspace_id: int) -> Stored:
    params = {"w": workspace_id}
    clicks = (
        await conn.execute(text("SELECT id, sub2 FROM clicks WHERE workspace_id = :w"), params)
    ).all()
    events = await conn.execute(
        text(
            "SELECT e.id, e.click_id, t.name, e.dedup_txid, e.txid, e.added_txids, e.amount "
            "FROM conversion_events e JOIN conversion_types t "
            "  ON t.workspace_id = e.workspace_id AND t.id = e.type_id "
            "WHERE e.workspace_id = :w"
        ),
        params,
    )
    accepted = await conn.execute(
        text(
            "SELECT conversion_event_id, count(*) FROM postback_log "
            "WHERE workspace_id = :w AND reason = 'accepted' GROUP BY 1"
        ),
        params,
    )
    acknowledged = await conn.scalar(
        text("SELECT count(*) FROM postback_log WHERE workspace_id = :w AND outcome <> 'rejected'"),
        params,
    )
    return Stored(
        clicks=frozenset(row.id for row in clicks),
        clicks_by_tag=Counter(row.sub2 for row in clicks),
        events=tuple(
            StoredEvent(
                id=row.id,
                key=(row.click_id, row.name, row.dedup_txid),
                txid=row.txid,
                added_txids=tuple(row.added_txids),
                amount=row.amount,
            )
            for row in events
        ),
        accepted_log_rows={row[0]: row[1] for row in accepted},
        acknowledged_log_rows=int(acknowledged or 0),
    )


@dataclass(slots=True)
class Verdict:
    """The run's figures and, per kind, a line for each key that broke the promise."""

    clicks_acknowledged: int = 0
    clicks_stored: int = 0
    keys_sent: int = 0
    keys_acknowledged: int = 0
    events_stored: int = 0
    stored_by_type: Counter[str] = field(default_factory=Counter)
    # Clicks stored for requests that got no answer, or a 503 from a tracking link: a visitor
    # the redirect never reached; harmless, and expected when the service dies.
    clicks_unanswered: int = 0
    lost_clicks: list[str] = field(default_factory=list)
    # Stored events whose 'accepted' answer never arrived (the service died after the commit):
    # the case the retries and the dedup key are for.
    accepted_unanswered: int = 0
    # A `POST /clicks` stored in part, or answered 503 though stored: its retry would double it.
    partial_clicks: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    phantom: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    @property
    def failures(self) -> dict[str, list[str]]:
        kinds = {
            "lost clicks": self.lost_clicks,
            "click batches": self.partial_clicks,
            "lost events": self.lost,
            "doubled": self.doubled,
            "never sent": self.phantom,
            "refused": self.refused,
            "postback log": self.log,
        }
        return {kind: lines for kind, lines in kinds.items() if lines}

    @property
    def ok(self) -> bool:
        return not self.failures


def verdict(ledger: Ledger, stored: Stored) -> Verdict:
    result = Verdict(
        clicks_acknowledged=len(ledger.clicks),
        clicks_stored=len(stored.clicks),
        events_stored=len(stored.events),
        stored_by_type=Counter(event.key[1] for event in stored.events),
    )
    result.lost_clicks = [
        f"click {c} was acknowledged but is not stored"
        for c in sorted(ledger.clicks - stored.clicks)
    ]
    _check_click_requests(result, ledger, stored)

    by_key: dict[EventKey, dict[Hit, Answers]] = defaultdict(dict)
    for hit, answers in ledger.hits.items():
        by_key[hit.key][hit] = answers
        for (status, code), n in answers.refusals.items():
            result.refused.append(f"{hit}: {n} x {status} {code}")
    stored_by_key: dict[EventKey, list[StoredEvent]] = defaultdict(list)
    for event in stored.events:
        stored_by_key[event.key].append(event)

    result.keys_sent = len(by_key)
    for key, hits in by_key.items():
        acknowledged = {hit: a for hit, a in hits.items() if a.acknowledged}
        result.keys_acknowledged += bool(acknowledged)
        events = stored_by_key.get(key, [])
        if len(events) > 1:
            result.doubled.append(f"{key} is stored {len(events)} times")
        new = sum(a.results[HitOutcome.ACCEPTED] for a in hits.values())
        if new > 1:
            result.doubled.append(f"{key} was answered 'accepted' {new} times")
        for hit, answers in hits.items():
            changed = sum(answers.results[r] for r in CHANGED)
            if changed > 1:
                result.doubled.append(f"{hit} changed the event {changed} times")
        if not events:
            if acknowledged:
                result.lost.append(f"{key} was acknowledged but is not stored")
            continue
        event = events[0]
        result.accepted_unanswered += not new
        for hit, answers in acknowledged.items():
            if answers.event_ids != {event.id}:
                result.lost.append(
                    f"{hit} was acknowledged as event {sorted(answers.event_ids)}, "
                    f"the stored one is {event.id}"
                )
        _check_amount(result, event, hits, acknowledged)

    for key, events in stored_by_key.items():
        if key not in by_key:
            result.phantom.append(f"{key} is stored ({len(events)} times) but was never sent")
    for event in stored.events:
        rows = stored.accepted_log_rows.get(event.id, 0)
        if rows != 1:
            result.log.append(f"event {event.id} {event.key} has {rows} 'accepted' log rows")
    answered = sum(
        n for a in ledger.hits.values() for r, n in a.results.items() if r in ACKNOWLEDGED
    )
    if stored.acknowledged_log_rows < answered:
        result.log.append(
            f"{answered} acknowledged answers but only {stored.acknowledged_log_rows} "
            "acknowledged rows in the postback log"
        )
    return result


def _check_click_requests(result: Verdict, ledger: Ledger, stored: Stored) -> None:
    """A request stores all its clicks or none, and a 503 from `POST /clicks` stores none."""
    for tag, request in ledger.click_requests.items():
        n = stored.clicks_by_tag.get(tag, 0)
        acknowledged = request.status in (201, 302)
        if n not in (0, request.clicks):
            result.partial_clicks.append(f"request {tag} stored {n} of its {request.clicks} clicks")
        elif n and not acknowledged:
            result.clicks_unanswered += n
            if request.api and request.status == 503:
                result.partial_clicks.append(
                    f"POST /clicks {tag} answered 503 but stored its {n} clicks"
                )
    for tag in sorted(set(stored.clicks_by_tag) - set(ledger.click_requests), key=str):
        result.phantom.append(f"{stored.clicks_by_tag[tag]} clicks tagged {tag} nobody sent")


def _check_amount(
    result: Verdict, event: StoredEvent, hits: dict[Hit, Answers], acknowledged: dict[Hit, Answers]
) -> None:
    """An add_amount event sums each addition once; any other holds one sent amount."""
    policy = next(iter(hits)).policy
    if policy is not DuplicatePolicy.ADD_AMOUNT:
        if event.amount not in {hit.amount for hit in hits}:
            result.lost.append(f"{event.key} holds {event.amount}, an amount nobody sent")
        return
    amounts = {hit.txid: hit.amount for hit in hits}
    added = Counter(event.added_txids)
    twice = sorted(txid for txid, n in added.items() if n > 1)
    if twice:
        result.doubled.append(f"{event.key} summed additions {twice} more than once")
    unknown = sorted(set(added) - set(amounts))
    if unknown:
        result.phantom.append(f"{event.key} summed additions {unknown} nobody sent")
    missing = sorted(hit.txid for hit in acknowledged if hit.txid not in added)
    if missing:
        result.lost.append(f"{event.key} lacks acknowledged additions {missing}")
    expected = sum((amounts.get(txid, Decimal(0)) for txid in event.added_txids), Decimal(0))
    if event.amount != expected:
        kind = result.doubled if event.amount > expected else result.lost
        kind.append(f"{event.key} holds {event.amount}, its additions sum to {expected}")
