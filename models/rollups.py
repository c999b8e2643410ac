"""Hourly and daily rollups of clicks and conversion events, kept current by their writers.

Reports over big ranges read these instead of the raw tables. Each rollup groups by a time
bucket and a few click dimensions and owns two tables: ``rollup_<name>_clicks`` and
``rollup_<name>_events`` (events carry their click's dimensions and are counted twice, once per
``Attribution``). Hourly rollups bucket by the UTC hour; daily ones by the local day in the
workspace's time zone, and key their rows by that zone (``timezone``).

No trigger keeps them: Citus refuses to distribute tables with triggers (issue 11). Whoever
writes clicks or events also writes, in the same transaction, the batch's changes summed per
*signature* into one of two append-only pending tables (``ClickChanges``, ``EventChanges``):
the workspace, the 15-minute UTC slot of the row's time and every dimension any rollup uses.
No zone is in them: every UTC offset in use is a multiple of 15 minutes, so a slot lies within
one local day of any zone. ``compact_rollups`` folds a workspace's signatures into all five
rollups in one statement, cutting local days in the zone the workspace has then; a report
reads a rollup plus the pending signatures bucketed on the fly.

A cost update writes the difference it makes to each click's cost the same way, in each
batch's transaction (``ClickChanges.cost_changed``). Changes made by hand in SQL write no
signatures: ``rebuild_rollups`` recounts a workspace from its raw rows, and is how rollups
catch up after a bulk load or a zone change.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import asyncpg
from sqlalchemy import BigInteger, Column, DateTime, Numeric, Table, Text, UniqueConstraint, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine
from sqlmodel import SQLModel

from models import literals
from models.base import enum_column
from models.click import Click
from models.enums import Attribution, ConversionStatus

# Money in rollups is integer millionths of the workspace currency (numeric(18,6) is exact in
# them), held in numeric(38,0): one event may carry up to 10^12, so a bigint (9.2 x 10^18
# millionths) would overflow on a group of ten such events, and a weak currency's realistic
# totals (a month of a big network in IDN or VND) come near it too.
MICROS = 1_000_000
MONEY_SUM = Numeric(38, 0)
CLICK_MEASURES = ("clicks", "unique_clicks", "bot_clicks", "cost_micros")
EVENT_MEASURES = ("events", "amount_micros", "cost_micros")
MONEY_MEASURES = frozenset({"cost_micros", "amount_micros"})
# The advisory lock (two-key form) on one workspace's rollup rows: "roll" in ASCII, then the
# workspace id modulo 2^31. Ids that far apart share a lock, which only makes one wait longer.
# Writers hold it shared, a rebuild alone. Advisory locks live where the statement runs: on
# Citus, the coordinator, which is where every writer's transaction is coordinated too.
LOCK_CLASS = 0x726F6C6C
LOCK_KEYS = 2**31
# The pending signatures' time slots.
SLOT = timedelta(minutes=15)

Grain = Literal["hour", "day"]


@dataclass(frozen=True)
class Rollup:
    """Click dimensions summed per workspace and UTC hour, or per workspace and local day."""

    name: str
    dimensions: tuple[str, ...]
    grain: Grain = "hour"

    @property
    def time_column(self) -> str:
        """The bucket column: ``hour`` (UTC hour) or ``day`` (midnight in ``timezone``)."""
        return self.grain

    @property
    def _zone_key(self) -> tuple[str, ...]:
        return ("timezone",) if self.grain == "day" else ()

    @property
    def clicks_table(self) -> str:
        return f"rollup_{self.name}_clicks"

    @property
    def events_table(self) -> str:
        return f"rollup_{self.name}_events"

    @property
    def clicks_key(self) -> tuple[str, ...]:
        """The unique key of the clicks table, in index order."""
        return ("workspace_id", *self._zone_key, self.time_column, *self.dimensions)

    @property
    def events_key(self) -> tuple[str, ...]:
        """The unique key of the events table, in index order."""
        return (
            "workspace_id",
            *self._zone_key,
            "attribution",
            self.time_column,
            *self.dimensions,
            "type_id",
            "status",
        )


# Smallest first: reports take the first rollup that covers them. Hourly grain compresses
# little (an hourly rollup by all five dimensions had 2.9M rows for 5M clicks), so only the
# small dimension sets have one, for hourly buckets and zones other than the workspace's.
ROLLUPS: tuple[Rollup, ...] = (
    Rollup("campaign_daily", ("campaign_id", "offer_id", "traffic_source_id"), "day"),
    Rollup("geo_daily", ("country", "device_type"), "day"),
    Rollup(
        "full_daily",
        ("campaign_id", "offer_id", "traffic_source_id", "country", "device_type"),
        "day",
    ),
    Rollup("campaign", ("campaign_id", "offer_id", "traffic_source_id")),
    Rollup("geo", ("country", "device_type")),
)
# Every dimension some rollup has, in the order of the first rollup that has it.
DIMENSIONS: tuple[str, ...] = tuple(dict.fromkeys(d for r in ROLLUPS for d in r.dimensions))
CLICKS_PENDING = "rollup_clicks_pending"
EVENTS_PENDING = "rollup_events_pending"
CLICK_SIGNATURE = ("workspace_id", "slot", *DIMENSIONS)
EVENT_SIGNATURE = ("workspace_id", "click_slot", "event_slot", *DIMENSIONS, "type_id", "status")


def _dimension_columns(dimensions: Sequence[str]) -> list["Column[object]"]:
    # Same type and nullability as on clicks; NULLS NOT DISTINCT below makes NULL one group.
    clicks = Click.__table__.c  # type: ignore[attr-defined]
    return [Column(d, clicks[d].type, nullable=clicks[d].nullable) for d in dimensions]


def _measure(name: str) -> "Column[object]":
    kind: TypeEngine[Any] = MONEY_SUM if name in MONEY_MEASURES else BigInteger()
    return Column(name, kind, nullable=False)


def _time(name: str) -> "Column[object]":
    return Column(name, DateTime(timezone=True), nullable=False)


def _workspace_id() -> "Column[int]":
    return Column("workspace_id", BigInteger, nullable=False)


def _event_kind() -> list["Column[object]"]:
    return [
        Column("type_id", BigInteger, nullable=False),
        Column("status", enum_column(ConversionStatus).type, nullable=False),
    ]


# No primary key: dimensions are nullable. The unique key leads with workspace_id (Citus), and
# its index holds the measures too, so that reports read a day range from the index alone.
def _zone(rollup: Rollup) -> list["Column[str]"]:
    # The zone a day was cut in: a report in another zone cannot use the row.
    return [Column("timezone", Text, nullable=False)] if rollup.grain == "day" else []


for _rollup in ROLLUPS:
    Table(
        _rollup.clicks_table,
        SQLModel.metadata,
        _workspace_id(),
        *_zone(_rollup),
        _time(_rollup.time_column),
        *_dimension_columns(_rollup.dimensions),
        *(_measure(m) for m in CLICK_MEASURES),
        UniqueConstraint(
            *_rollup.clicks_key,
            postgresql_nulls_not_distinct=True,
            postgresql_include=list(CLICK_MEASURES),
        ),
    )
    Table(
        _rollup.events_table,
        SQLModel.metadata,
        _workspace_id(),
        *_zone(_rollup),
        Column("attribution", enum_column(Attribution).type, nullable=False),
        _time(_rollup.time_column),
        *_dimension_columns(_rollup.dimensions),
        *_event_kind(),
        *(_measure(m) for m in EVENT_MEASURES),
        UniqueConstraint(
            *_rollup.events_key,
            postgresql_nulls_not_distinct=True,
            postgresql_include=list(EVENT_MEASURES),
        ),
    )

# Append-only, no key and no index: writers only COPY into them (upserting rollup rows inside
# every writing transaction made the transactions of a popular campaign queue on its rollup
# row), and compaction empties them every few seconds.
Table(
    CLICKS_PENDING,
    SQLModel.metadata,
    _workspace_id(),
    _time("slot"),
    *_dimension_columns(DIMENSIONS),
    *(_measure(m) for m in CLICK_MEASURES),
)
Table(
    EVENTS_PENDING,
    SQLModel.metadata,
    _workspace_id(),
    _time("click_slot"),
    _time("event_slot"),
    *_dimension_columns(DIMENSIONS),
    *_event_kind(),
    *(_measure(m) for m in EVENT_MEASURES),
)


# --- What writers record -----------------------------------------------------------------


def slot_of(moment: datetime) -> datetime:
    """The start of the 15-minute UTC slot of ``moment``."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def micros(amount: Decimal) -> int:
    """A money column's value in millionths, as PostgreSQL's ``(amount * 1000000)::bigint``
    rounds it (half away from zero; stored values have six decimals at most)."""
    if not amount:
        return 0
    return int((amount * MICROS).to_integral_value(ROUND_HALF_UP))


class ClickChanges:
    """A batch's new clicks, summed per signature (workspace, slot, dimensions)."""

    __slots__ = ("sums",)

    def __init__(self) -> None:
        self.sums: dict[tuple[Any, ...], list[int]] = {}

    def add(
        self,
        workspace_id: int,
        created_at: datetime,
        dimensions: tuple[Any, ...],
        *,
        unique: bool,
        bot: bool,
        cost: Decimal,
    ) -> None:
        """``dimensions``: the click's values of DIMENSIONS, in order."""
        key = (workspace_id, slot_of(created_at), *dimensions)
        sums = self.sums.get(key)
        if sums is None:
            sums = self.sums[key] = [0, 0, 0, 0]
        sums[0] += 1
        sums[1] += unique
        sums[2] += bot
        if cost:
            sums[3] += micros(cost)

    def cost_changed(
        self,
        workspace_id: int,
        created_at: datetime,
        dimensions: tuple[Any, ...],
        *,
        before: Decimal,
        after: Decimal,
    ) -> None:
        """A stored click's cost went from ``before`` to ``after`` (a cost update): the
        difference, and no click more."""
        key = (workspace_id, slot_of(created_at), *dimensions)
        sums = self.sums.get(key)
        if sums is None:
            sums = self.sums[key] = [0, 0, 0, 0]
        sums[3] += micros(after) - micros(before)

    def workspaces(self) -> list[int]:
        return sorted({key[0] for key in self.sums})

    async def write(self, conn: asyncpg.Connection) -> None:
        """COPY the sums; the caller's transaction holds ``lock_shared`` of their workspaces."""
        await _copy(conn, CLICKS_PENDING, CLICK_SIGNATURE, CLICK_MEASURES, self.sums)

    def insert_sql(self) -> str:
        """The sums as one multi-row INSERT with the values written out, for a writer that
        sends it in one message with its COMMIT (see ``begin_shared``); empty without sums."""
        if not self.sums:
            return ""
        rows = ",".join(literals.row((*key, *values)) for key, values in self.sums.items())
        columns = ", ".join((*CLICK_SIGNATURE, *CLICK_MEASURES))
        return f"INSERT INTO {CLICKS_PENDING} ({columns}) VALUES {rows}"


class EventChanges:
    """A batch's changes to conversion events, summed per signature: +1 for each event as it
    is now, -1 for each as it was before an update."""

    __slots__ = ("sums",)

    def __init__(self) -> None:
        self.sums: dict[tuple[Any, ...], list[int]] = {}

    def add(
        self,
        sign: int,
        *,
        workspace_id: int,
        click_created_at: datetime,
        created_at: datetime,
        dimensions: tuple[Any, ...],
        type_id: int,
        status: ConversionStatus,
        amount: Decimal,
        cost: Decimal,
    ) -> None:
        key = (
            workspace_id,
            slot_of(click_created_at),
            slot_of(created_at),
            *dimensions,
            type_id,
            status.value,
        )
        sums = self.sums.get(key)
        if sums is None:
            sums = self.sums[key] = [0, 0, 0]
        sums[0] += sign
        sums[1] += sign * micros(amount)
        sums[2] += sign * micros(cost)

    def workspaces(self) -> list[int]:
        return sorted({key[0] for key in self.sums})

    async def write(self, conn: asyncpg.Connection) -> None:
        """COPY the sums; the caller's transaction holds ``lock_shared`` of their workspaces."""
        await _copy(conn, EVENTS_PENDING, EVENT_SIGNATURE, EVENT_MEASURES, self.sums)


async def _copy(
    conn: asyncpg.Connection,
    table: str,
    signature: tuple[str, ...],
    measures: tuple[str, ...],
    sums: dict[tuple[Any, ...], list[int]],
) -> None:
    # An update back and forth within a batch nets out to nothing.
    records = [(*key, *values) for key, values in sums.items() if any(values)]
    if records:
        await conn.copy_records_to_table(table, records=records, columns=(*signature, *measures))


def begin_shared(workspace_ids: Iterable[int]) -> str:
    """``BEGIN`` and ``lock_shared`` of these workspaces as simple-protocol statements.

    The click writer's batches under load are a few clicks each, so each round trip counts: it
    sends this, its clicks and ``ClickChanges.insert_sql()`` with the COMMIT as one message
    (``ingestion.clicks.writer``), where a transaction, ``lock_shared`` and two COPYs took five
    messages and seven round trips.
    """
    keys = sorted({workspace_id % LOCK_KEYS for workspace_id in workspace_ids})
    locks = ", ".join(f"pg_advisory_xact_lock_shared({LOCK_CLASS}, {k})" for k in keys)
    return f"BEGIN; SELECT {locks}" if locks else "BEGIN"


async def lock_shared(conn: asyncpg.Connection, workspace_ids: Iterable[int]) -> None:
    """Share the rollup locks of these workspaces until the transaction ends, in key order.

    Taken before a transaction writes its changes: a rebuild of one of these workspaces then
    either ran before (and this transaction's rows were not yet visible to its recount) or
    runs after this commits (and deletes these changes, as it counts their rows).
    """
    keys = sorted({workspace_id % LOCK_KEYS for workspace_id in workspace_ids})
    if keys:
        # unnest() returns the array in order, and the locks are taken in that order.
        await conn.execute(
            "SELECT pg_advisory_xact_lock_shared($1, k) FROM unnest($2::integer[]) AS k",
            LOCK_CLASS,
            keys,
        )


# --- Compaction and rebuild ----------------------------------------------------------------

_ATTRIBUTIONS = (
    "CROSS JOIN LATERAL (VALUES "
    + ", ".join(
        f"('{a.value}', {column})"
        for a, column in (
            (Attribution.CLICK, "e.click_slot"),
            (Attribution.CONVERSION, "e.event_slot"),
        )
    )
    + ") AS a (attribution, at)"
)


def _bucket(rollup: Rollup, moment: str) -> str:
    zone = "'UTC'" if rollup.grain == "hour" else "z.timezone"
    return f"date_trunc('{rollup.grain}', {moment}, {zone})"


def _upsert(
    table: str,
    key: tuple[str, ...],
    values: Sequence[str],
    measures: tuple[str, ...],
    sums: Sequence[str],
    source: str,
) -> str:
    """Add the source's sums per key to a rollup table; RETURNING each changed row's count.

    Groups with nothing to add are skipped; rows go in key order, so concurrent upserts lock
    them in one order.
    """
    positions = ", ".join(str(i) for i in range(1, len(key) + 1))
    updates = ", ".join(f"{m} = r.{m} + excluded.{m}" for m in measures)
    return (
        f"INSERT INTO {table} AS r ({', '.join((*key, *measures))})\n"
        f"SELECT {', '.join((*values, *sums))}\n"
        f"FROM {source}\n"
        f"GROUP BY {positions}\n"
        f"HAVING {' OR '.join(f'{s} <> 0' for s in sums)}\n"
        f"ORDER BY {positions}\n"
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}\n"
        f"RETURNING r.{measures[0]}"
    )


def _key_values(
    rollup: Rollup, key: tuple[str, ...], moment: str, owners: dict[str, str] | None = None
) -> list[str]:
    """The expressions of a rollup key: the workspace as the statement's parameter (each row
    provably in its shard), the zone of ``z``, the bucket cut from ``moment``, and the other
    columns qualified by the alias ``owners`` gives them (none by default)."""
    names = {"workspace_id": "CAST(:workspace_id AS bigint)", "timezone": "z.timezone"}
    for column, alias in (owners or {}).items():
        names[column] = f"{alias}.{column}"
    return [_bucket(rollup, moment) if k == rollup.time_column else names.get(k, k) for k in key]


def _fold_sql() -> str:
    """One statement that moves a workspace's pending signatures into every rollup.

    Its result: rollup rows changed, and how many of them now count nothing.
    """
    zone = "zone AS (SELECT timezone FROM workspaces WHERE id = :workspace_id)"
    ctes = [
        f"clicks AS (DELETE FROM {CLICKS_PENDING} WHERE workspace_id = :workspace_id RETURNING *)",
        f"events AS (DELETE FROM {EVENTS_PENDING} WHERE workspace_id = :workspace_id RETURNING *)",
        zone,
    ]
    for i, rollup in enumerate(ROLLUPS):
        zone_join = " CROSS JOIN zone AS z" if rollup.grain == "day" else ""
        clicks = _upsert(
            rollup.clicks_table,
            rollup.clicks_key,
            _key_values(rollup, rollup.clicks_key, "c.slot"),
            CLICK_MEASURES,
            [f"sum(c.{m})" for m in CLICK_MEASURES],
            f"clicks AS c{zone_join}",
        )
        events = _upsert(
            rollup.events_table,
            rollup.events_key,
            _key_values(rollup, rollup.events_key, "a.at"),
            EVENT_MEASURES,
            [f"sum(e.{m})" for m in EVENT_MEASURES],
            f"events AS e{zone_join} {_ATTRIBUTIONS}",
        )
        ctes.append(f"c{i} AS (\n{clicks}\n)")
        ctes.append(f"e{i} AS (\n{events}\n)")
    counts = " UNION ALL ".join(
        f"SELECT {measure} FROM {kind}{i}"
        for i in range(len(ROLLUPS))
        for kind, measure in (("c", "clicks"), ("e", "events"))
    )
    return (
        "WITH " + ",\n".join(ctes) + f"\nSELECT count(*), count(*) FILTER (WHERE n = 0)\n"
        f"FROM ({counts}) AS changed (n)"
    )


def _empty_groups_sql() -> str:
    """Delete a workspace's rollup rows that count nothing (all their events were deleted or
    moved to another status): one statement over every rollup table."""
    deletes = [
        f"d{i} AS (DELETE FROM {table} WHERE workspace_id = :workspace_id AND {measure} = 0)"
        for i, (table, measure) in enumerate(
            (t, m)
            for r in ROLLUPS
            for t, m in ((r.clicks_table, "clicks"), (r.events_table, "events"))
        )
    ]
    return "WITH " + ",\n".join(deletes) + "\nSELECT 1"


FOLD = _fold_sql()
EMPTY_GROUPS = _empty_groups_sql()
_LISTING = (
    f"SELECT workspace_id FROM {CLICKS_PENDING} UNION SELECT workspace_id FROM {EVENTS_PENDING} "
    "ORDER BY 1"
)


def recount_sql(rollup: Rollup) -> tuple[str, str]:
    """The statements that count one workspace's clicks and events into a rollup's empty
    tables (``:workspace_id``), as compaction of every change since the start would."""
    zone_join = (
        " JOIN workspaces AS z ON z.id = {alias}.workspace_id" if rollup.grain == "day" else ""
    )
    owners = {**dict.fromkeys(rollup.dimensions, "c"), "type_id": "e", "status": "e"}
    clicks_key = _key_values(rollup, rollup.clicks_key, "c.created_at", owners)
    clicks = (
        f"INSERT INTO {rollup.clicks_table} ({', '.join((*rollup.clicks_key, *CLICK_MEASURES))})\n"
        f"SELECT {', '.join(clicks_key)}, count(*), "
        "count(*) FILTER (WHERE c.is_unique), count(*) FILTER (WHERE c.is_bot), "
        f"sum((c.cost * {MICROS})::bigint)\n"
        f"FROM clicks AS c{zone_join.format(alias='c')}\n"
        "WHERE c.workspace_id = :workspace_id\n"
        f"GROUP BY {', '.join(str(i) for i in range(1, len(rollup.clicks_key) + 1))}"
    )
    events_key = _key_values(rollup, rollup.events_key, "a.at", owners)
    events = (
        f"INSERT INTO {rollup.events_table} ({', '.join((*rollup.events_key, *EVENT_MEASURES))})\n"
        f"SELECT {', '.join(events_key)}, "
        f"count(*), sum((e.amount * {MICROS})::bigint), sum((e.cost * {MICROS})::bigint)\n"
        "FROM conversion_events AS e\n"
        "JOIN clicks AS c ON c.workspace_id = e.workspace_id\n"
        "    AND c.created_at = e.click_created_at AND c.id = e.click_id"
        f"{zone_join.format(alias='e')}\n"
        "CROSS JOIN LATERAL (VALUES ('click', e.click_created_at), "
        "('conversion', e.created_at)) AS a (attribution, at)\n"
        "WHERE e.workspace_id = :workspace_id\n"
        f"GROUP BY {', '.join(str(i) for i in range(1, len(rollup.events_key) + 1))}"
    )
    return clicks, events


async def _advisory_lock(conn: AsyncConnection, key: int) -> None:
    """Hold LOCK_CLASS's lock ``key`` alone until the commit."""
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(:lock_class, :key)"),
        {"lock_class": LOCK_CLASS, "key": key},
    )


# The advisory key (under LOCK_CLASS) of compaction; workspace keys are never negative.
COMPACTION_KEY = -1


@dataclass(frozen=True, slots=True)
class Compaction:
    # Rollup rows changed.
    changed: int
    # Workspaces whose pending rows could not be folded, with the database's error. Their rows
    # stay pending, where reports still count them.
    failed: dict[int, str]


async def compact_rollups(conn: AsyncConnection) -> Compaction:
    """Fold every workspace's pending signatures into the rollups, one statement each.

    A report, which reads rollups and signatures in one snapshot, never counts a change twice
    or misses one. One compactor runs at a time. A workspace whose statement fails on the data
    (a sum no column can hold, a constraint) keeps its rows pending; the others go on.
    """
    await _advisory_lock(conn, COMPACTION_KEY)
    changed = 0
    failed: dict[int, str] = {}
    for workspace_id in await _pending_workspaces(conn):
        try:
            async with conn.begin_nested():
                changed += await _fold(conn, workspace_id, share=True)
        except DBAPIError as error:
            if not _caused_by_data(error):
                raise
            failed[workspace_id] = str(error.orig)
    return Compaction(changed=changed, failed=failed)


async def _pending_workspaces(conn: AsyncConnection) -> list[int]:
    """The workspaces with pending signatures, in id order (on Citus, a read of every shard's
    few rows every few seconds)."""
    return list((await conn.execute(text(_LISTING))).scalars())


def _caused_by_data(error: DBAPIError) -> bool:
    """A data exception or constraint violation (SQLSTATE classes 22 and 23), which the same
    rows will meet again, unlike a lost connection or a timeout."""
    sqlstate = getattr(error.orig.__cause__ if error.orig else None, "sqlstate", None) or ""
    return sqlstate[:2] in ("22", "23")


async def _fold(conn: AsyncConnection, workspace_id: int, *, share: bool) -> int:
    """Move one workspace's signatures into the rollups; returns rollup rows changed.

    ``share``: take the workspace's lock shared first, so that a rebuild (or a zone change)
    of the workspace runs wholly before or after, and the zone read is the one it leaves.
    """
    params = {"workspace_id": workspace_id}
    if share:
        await conn.execute(
            text("SELECT pg_advisory_xact_lock_shared(:lock_class, :key)"),
            {"lock_class": LOCK_CLASS, "key": workspace_id % LOCK_KEYS},
        )
    changed, empty = (await conn.execute(text(FOLD), params)).one()
    if empty:
        await conn.execute(text(EMPTY_GROUPS), params)
    return int(changed)


async def rebuild_rollups(
    conn: AsyncConnection,
    *,
    workspace_id: int,
    rollups: Sequence[Rollup] = ROLLUPS,
    on_table: Callable[[str, int], None] | None = None,
) -> int:
    """Recount one workspace's rollups from its raw rows; returns the rollup rows written.

    After manual SQL on clicks or events, after loading rows without their changes, and when
    the workspace changes its time zone (``rollups``: the daily ones). The workspace's writers
    wait until the caller's transaction ends (they share the lock this holds alone), since a
    change committed between the delete and the recount would be counted twice or not at all;
    other workspaces' writers do not. ``on_table`` hears of each rollup table recounted and its
    rows (a recount of millions of clicks takes a while).
    """
    await _advisory_lock(conn, workspace_id % LOCK_KEYS)
    # A recount of every row may take far longer than a request is allowed to.
    await conn.execute(text("SET LOCAL statement_timeout = 0"))
    params = {"workspace_id": workspace_id}
    if set(rollups) == set(ROLLUPS):
        for table in (CLICKS_PENDING, EVENTS_PENDING):
            await conn.execute(
                text(f"DELETE FROM {table} WHERE workspace_id = :workspace_id"), params
            )
    else:
        # The pending changes belong in the rollups not recounted too.
        await _fold(conn, workspace_id, share=False)
    written = 0
    for rollup in rollups:
        for table, recount in zip(
            (rollup.clicks_table, rollup.events_table), recount_sql(rollup), strict=True
        ):
            await conn.execute(
                text(f"DELETE FROM {table} WHERE workspace_id = :workspace_id"), params
            )
            rows = (await conn.execute(text(recount), params)).rowcount
            written += rows
            if on_table is not None:
                on_table(table, rows)
    return written


async def workspace_ids(conn: AsyncConnection) -> list[int]:
    """Every workspace, in id order: what a rebuild of all of them goes through."""
    return list((await conn.execute(text("SELECT id FROM workspaces ORDER BY id"))).scalars())
