"""Hourly and daily rollups of clicks and conversion events, kept current by database triggers.

Reports over big ranges read these instead of the raw tables. Each rollup groups by a time
bucket and a few click dimensions and owns two tables: ``rollup_<name>_clicks`` and
``rollup_<name>_events`` (events carry their click's dimensions and are counted twice, once per
``Attribution``). Statement-level triggers on ``clicks`` and ``conversion_events`` fold every
INSERT, UPDATE and DELETE into them, whatever wrote it (ingestion, a bulk COPY, manual SQL).

Hourly rollups bucket by the UTC hour. Daily ones bucket by the local day in the workspace's
time zone as it was when the row was written, and key their rows by that zone (``timezone``):
after a workspace changes its zone, ``rebuild_rollups`` moves its rows to the new one.

The SQL the triggers run is generated here (``trigger_functions()``, ``TRIGGERS``) and a
migration carries a literal copy of it, so that old migrations never change: a test fails when
the database's copy differs from the definitions. Changing ``ROLLUPS`` therefore needs a
migration, as any table does; it writes out the new ``trigger_functions()``.
"""

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Numeric,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine
from sqlmodel import SQLModel

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
SQL_WIDTH = 92
# The advisory lock (two-key form) on one workspace's rollup rows: "roll" in ASCII, then the
# workspace id modulo 2^31. Ids that far apart share a lock, which only makes one wait longer.
LOCK_CLASS = 0x726F6C6C
LOCK_KEYS = 2**31

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


def _dimension_columns(rollup: Rollup) -> list["Column[object]"]:
    # Same type and nullability as on clicks; NULLS NOT DISTINCT below makes NULL one group.
    clicks = Click.__table__.c  # type: ignore[attr-defined]
    return [Column(d, clicks[d].type, nullable=clicks[d].nullable) for d in rollup.dimensions]


def _measure(name: str) -> "Column[object]":
    kind: TypeEngine[Any] = MONEY_SUM if name in MONEY_MEASURES else BigInteger()
    return Column(name, kind, nullable=False)


def _zone(rollup: Rollup) -> list["Column[str]"]:
    # The zone a day was cut in: a report in another zone cannot use the row.
    return [Column("timezone", Text, nullable=False)] if rollup.grain == "day" else []


def _time(rollup: Rollup) -> "Column[object]":
    return Column(rollup.time_column, DateTime(timezone=True), nullable=False)


def _workspace_id() -> "Column[int]":
    return Column("workspace_id", BigInteger, nullable=False)


def pending(table: str) -> str:
    """The append-only table the triggers write a rollup table's changes to."""
    return f"{table}_pending"


# Each rollup table has a pending twin. Triggers only append to the twin: upserting into the
# rollup itself made every transaction that touched a popular campaign wait for the previous
# one's commit on the same rollup row (postbacks fell from ~500/s to under 200/s).
# compact_rollups() folds the twin into the rollup; a report reads both.
# No primary key: dimensions are nullable. The unique key leads with workspace_id (Citus), and
# its index holds the measures too, so that reports read a day range from the index alone.
for _rollup in ROLLUPS:
    for _name, _constraints in (
        (_rollup.clicks_table, True),
        (pending(_rollup.clicks_table), False),
    ):
        Table(
            _name,
            SQLModel.metadata,
            _workspace_id(),
            *_zone(_rollup),
            _time(_rollup),
            *_dimension_columns(_rollup),
            *(_measure(m) for m in CLICK_MEASURES),
            *(
                [
                    UniqueConstraint(
                        *_rollup.clicks_key,
                        postgresql_nulls_not_distinct=True,
                        postgresql_include=list(CLICK_MEASURES),
                    )
                ]
                if _constraints
                else []
            ),
        )
    for _name, _constraints in (
        (_rollup.events_table, True),
        (pending(_rollup.events_table), False),
    ):
        Table(
            _name,
            SQLModel.metadata,
            _workspace_id(),
            *_zone(_rollup),
            Column("attribution", enum_column(Attribution).type, nullable=False),
            _time(_rollup),
            *_dimension_columns(_rollup),
            Column("type_id", BigInteger, nullable=False),
            Column("status", enum_column(ConversionStatus).type, nullable=False),
            *(_measure(m) for m in EVENT_MEASURES),
            *(
                [
                    UniqueConstraint(
                        *_rollup.events_key,
                        postgresql_nulls_not_distinct=True,
                        postgresql_include=list(EVENT_MEASURES),
                    )
                ]
                if _constraints
                else []
            ),
        )


# --- SQL of the triggers, of compact_rollups and of rebuild_rollups -----------------------
#
# Every statement reads a "delta": the changed rows with a sign (+1 new, -1 old). A trigger
# appends the delta's sums per key to the pending twin of each rollup table (an UPDATE adds its
# new rows and subtracts its old ones); compact_rollups folds them in and deletes groups whose
# count dropped to zero, so after it the tables hold exactly what rebuild_rollups computes.

_NEW = "(SELECT *, 1 AS sign FROM new_rows)"
_OLD = "(SELECT *, -1 AS sign FROM old_rows)"
_BOTH = "(SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM old_rows)"
_ATTRIBUTIONS = (
    "CROSS JOIN LATERAL (VALUES "
    + ", ".join(
        f"('{a.value}', e.{column})"
        for a, column in (
            (Attribution.CLICK, "click_created_at"),
            (Attribution.CONVERSION, "created_at"),
        )
    )
    + ") AS a (attribution, at)"
)


def _is_nullable(column: str) -> bool:
    """Whether a key column may hold NULL: only click dimensions can."""
    clicks = Click.__table__.c  # type: ignore[attr-defined]
    return column in clicks and bool(clicks[column].nullable)


def _zone_join(rollup: Rollup, alias: str) -> str:
    """A day rollup's rows need their workspace's zone: the one it has when the row is written."""
    if rollup.grain == "hour":
        return ""
    return f"    JOIN workspaces AS w ON w.id = {alias}.workspace_id\n"


def _zone_column(rollup: Rollup) -> str:
    return "w.timezone, " if rollup.grain == "day" else ""


def _bucket(rollup: Rollup, moment: str) -> str:
    zone = "'UTC'" if rollup.grain == "hour" else "timezone"
    return f"date_trunc('{rollup.grain}', {moment}, {zone})"


def _clicks_delta(rollup: Rollup, signed_rows: str) -> str:
    dimensions = "".join(f"c.{d}, " for d in rollup.dimensions)
    return (
        f"WITH delta AS (\n"
        f"    SELECT c.workspace_id, {_zone_column(rollup)}c.created_at, {dimensions}"
        f"c.is_unique, c.is_bot, c.cost, c.sign\n"
        f"    FROM {signed_rows} AS c\n"
        f"{_zone_join(rollup, 'c')}"
        f")\n"
    )


def _events_delta(rollup: Rollup, signed_rows: str, *, per_event: bool = True) -> str:
    """The events' changes with their clicks' dimensions.

    ``per_event``: look each click up by its key. A trigger's few rows otherwise get a plan
    made for a guessed thousand (a hash join over a whole clicks partition: 5-10 ms a postback);
    a rebuild of every event is better served by that join.
    """
    dimensions = "".join(f"c.{d}, " for d in rollup.dimensions)
    click = (
        (
            f"    CROSS JOIN LATERAL (\n"
            f"        SELECT {', '.join(rollup.dimensions)} FROM clicks AS k\n"
            f"        WHERE k.workspace_id = e.workspace_id\n"
            f"            AND k.created_at = e.click_created_at AND k.id = e.click_id\n"
            f"        LIMIT 1\n"
            f"    ) AS c\n"
        )
        if per_event
        else (
            "    JOIN clicks AS c ON c.workspace_id = e.workspace_id\n"
            "        AND c.created_at = e.click_created_at AND c.id = e.click_id\n"
        )
    )
    return (
        f"WITH delta AS (\n"
        f"    SELECT e.workspace_id, {_zone_column(rollup)}a.attribution, a.at, {dimensions}"
        f"e.type_id, e.status, e.amount, e.cost, e.sign\n"
        f"    FROM {signed_rows} AS e\n"
        f"{click}"
        f"{_zone_join(rollup, 'e')}"
        f"    {_ATTRIBUTIONS}\n"
        f")\n"
    )


def _events_of_moved_clicks(rollup: Rollup) -> str:
    """The delta of a clicks UPDATE for events: those of clicks whose dimensions changed."""
    dimensions = rollup.dimensions
    old = ", ".join(f"o.{d}" for d in dimensions)
    new = ", ".join(f"n.{d}" for d in dimensions)
    moved = ", ".join(f"d.{d}" for d in dimensions)
    return (
        f"WITH delta AS (\n"
        f"    SELECT e.workspace_id, {_zone_column(rollup)}a.attribution, a.at, {moved}, "
        f"e.type_id, e.status, e.amount, e.cost, d.sign\n"
        f"    FROM old_rows AS o\n"
        f"    JOIN new_rows AS n ON n.workspace_id = o.workspace_id\n"
        f"        AND n.created_at = o.created_at AND n.id = o.id\n"
        f"    JOIN conversion_events AS e ON e.workspace_id = o.workspace_id\n"
        f"        AND e.click_created_at = o.created_at AND e.click_id = o.id\n"
        f"{_zone_join(rollup, 'o')}"
        f"    CROSS JOIN LATERAL (VALUES (-1, {old}), (1, {new}))\n"
        f"        AS d (sign, {', '.join(dimensions)})\n"
        f"    {_ATTRIBUTIONS}\n"
        f"    WHERE ({old}) IS DISTINCT FROM ({new})\n"
        f")\n"
    )


def _upsert(
    table: str,
    key: tuple[str, ...],
    key_values: tuple[str, ...],
    measures: tuple[str, ...],
    sums: tuple[str, ...],
) -> str:
    """Adds the delta's sums to the rollup table itself (rebuild and compaction).

    Groups with nothing to add are skipped; rows go in key order, so concurrent upserts lock
    them in one order. RETURNING gives each changed row's new count (the first measure).
    """
    positions = ", ".join(str(i) for i in range(1, len(key) + 1))
    updates = ",\n    ".join(f"{m} = r.{m} + excluded.{m}" for m in measures)
    return (
        f"INSERT INTO {table} AS r ({', '.join((*key, *measures))})\n"
        f"SELECT {', '.join(key_values)}, {', '.join(sums)}\n"
        f"FROM delta\n"
        f"GROUP BY {positions}\n"
        f"HAVING {' OR '.join(f'{s} <> 0' for s in sums)}\n"
        f"ORDER BY {positions}\n"
        f"ON CONFLICT ({', '.join(key)})\n"
        f"DO UPDATE SET\n"
        f"    {updates}\n"
        f"RETURNING r.{measures[0]}"
    )


_CLICK_SUMS = (
    "sum(sign)",
    "sum(sign * is_unique::int)",
    "sum(sign * is_bot::int)",
    f"sum(sign * (cost * {MICROS})::bigint)",
)
_EVENT_SUMS = (
    "sum(sign)",
    f"sum(sign * (amount * {MICROS})::bigint)",
    f"sum(sign * (cost * {MICROS})::bigint)",
)


def _key_values(rollup: Rollup, key: tuple[str, ...], moment: str) -> tuple[str, ...]:
    """The delta's expressions for a key: its columns, but the time bucket cut from moment."""
    return tuple(_bucket(rollup, moment) if k == rollup.time_column else k for k in key)


def _append(
    table: str,
    key: tuple[str, ...],
    key_values: tuple[str, ...],
    measures: tuple[str, ...],
    sums: tuple[str, ...],
    *,
    net_changes_only: bool,
) -> str:
    positions = ", ".join(str(i) for i in range(1, len(key) + 1))
    having = f"HAVING {' OR '.join(f'{s} <> 0' for s in sums)}\n" if net_changes_only else ""
    return (
        f"INSERT INTO {pending(table)} ({', '.join((*key, *measures))})\n"
        f"SELECT {', '.join(key_values)}, {', '.join(sums)}\n"
        f"FROM delta\n"
        f"GROUP BY {positions}\n"
        f"{having}".rstrip("\n")
        + ";\n"
    )


def _clicks_appends(rollup: Rollup, delta: str, *, net_changes_only: bool) -> list[str]:
    key = rollup.clicks_key
    values = _key_values(rollup, key, "created_at")
    return [
        delta
        + _append(
            rollup.clicks_table,
            key,
            values,
            CLICK_MEASURES,
            _CLICK_SUMS,
            net_changes_only=net_changes_only,
        )
    ]


def _events_appends(rollup: Rollup, delta: str, *, net_changes_only: bool) -> list[str]:
    key = rollup.events_key
    values = _key_values(rollup, key, "at")
    return [
        delta
        + _append(
            rollup.events_table,
            key,
            values,
            EVENT_MEASURES,
            _EVENT_SUMS,
            net_changes_only=net_changes_only,
        )
    ]


def _clicks_statements(rollup: Rollup, delta: str) -> list[str]:
    key = rollup.clicks_key
    values = _key_values(rollup, key, "created_at")
    upsert = _upsert(
        rollup.clicks_table,
        key,
        values,
        CLICK_MEASURES,
        _CLICK_SUMS,
    )
    return [delta + upsert]


def _events_statements(rollup: Rollup, delta: str) -> list[str]:
    key = rollup.events_key
    values = _key_values(rollup, key, "at")
    upsert = _upsert(
        rollup.events_table,
        key,
        values,
        EVENT_MEASURES,
        _EVENT_SUMS,
    )
    return [delta + upsert]


def _lock_workspaces(transition_tables: tuple[str, ...]) -> str:
    """Share the lock of every workspace the statement wrote, in id order (see rebuild_rollups)."""
    ids = " UNION ".join(f"SELECT workspace_id FROM {t}" for t in transition_tables)
    if len(transition_tables) == 1:
        ids = ids.replace("SELECT", "SELECT DISTINCT", 1)
    return (
        f"PERFORM pg_advisory_xact_lock_shared({LOCK_CLASS}, "
        f"(workspace_id % {LOCK_KEYS})::integer)\n"
        f"FROM ({ids} ORDER BY 1) AS w;\n"
    )


def _function_body(statements: list[str]) -> str:
    lines = "\n\n".join(s.strip() for s in statements).splitlines()
    # Short lines, so that a migration can carry the body as it is (the SQL has no literal
    # with a space in it, so breaking at spaces changes nothing).
    wrapped = [
        textwrap.fill(
            line,
            width=SQL_WIDTH,
            initial_indent="    ",
            subsequent_indent="    " + " " * (len(line) - len(line.lstrip()) + 4),
            break_long_words=False,
            break_on_hyphens=False,
        )
        if line
        else ""
        for line in lines
    ]
    return "\nBEGIN\n" + "\n".join(wrapped) + "\n\n    RETURN NULL;\nEND\n"


# (table, event, transition tables) -> trigger function name
TRIGGERS: tuple[tuple[str, str, str, str], ...] = (
    ("clicks", "INSERT", "NEW TABLE AS new_rows", "rollups_clicks_insert"),
    ("clicks", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows", "rollups_clicks_update"),
    ("clicks", "DELETE", "OLD TABLE AS old_rows", "rollups_clicks_delete"),
    ("conversion_events", "INSERT", "NEW TABLE AS new_rows", "rollups_events_insert"),
    (
        "conversion_events",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "rollups_events_update",
    ),
    ("conversion_events", "DELETE", "OLD TABLE AS old_rows", "rollups_events_delete"),
)


def trigger_functions() -> dict[str, str]:
    """Trigger function name -> its PL/pgSQL body, for ROLLUPS as defined now."""
    bodies: list[list[str]] = []
    for delta, appends in (
        (_clicks_delta, _clicks_appends),
        (_events_delta, _events_appends),
    ):
        for signed, net in ((_NEW, False), (_BOTH, True), (_OLD, False)):
            bodies.append(
                [sql for r in ROLLUPS for sql in appends(r, delta(r, signed), net_changes_only=net)]
            )
    # A click whose dimensions change takes its events' counts along.
    bodies[1] += [
        sql
        for r in ROLLUPS
        for sql in _events_appends(r, _events_of_moved_clicks(r), net_changes_only=True)
    ]
    transition_tables = {
        "INSERT": ("new_rows",),
        "UPDATE": ("new_rows", "old_rows"),
        "DELETE": ("old_rows",),
    }
    return {
        name: _function_body([_lock_workspaces(transition_tables[event]), *body])
        for (_, event, _, name), body in zip(TRIGGERS, bodies, strict=True)
    }


# The advisory key (under LOCK_CLASS) of compaction; workspace keys are never negative.
COMPACTION_KEY = -1


async def _advisory_lock(conn: AsyncConnection, key: int) -> None:
    """Hold LOCK_CLASS's lock ``key`` (a workspace's, or compaction's) until the commit."""
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(:lock_class, :key)"),
        {"lock_class": LOCK_CLASS, "key": key},
    )


@dataclass(frozen=True, slots=True)
class Compaction:
    # Rollup rows changed.
    changed: int
    # Workspaces whose pending rows could not be folded, with the database's error for the
    # first table that failed. Their rows stay pending, where reports still count them.
    failed: dict[int, str]


async def compact_rollups(conn: AsyncConnection) -> Compaction:
    """Fold every pending table into its rollup table.

    Each table is one statement (delete the pending rows, upsert their sums), so a report,
    which reads both, never counts a change twice or misses one. One compactor runs at a time.
    When a table's statement fails on the data (a sum no column can hold, a constraint), its
    rows are folded one workspace at a time: the workspace at fault keeps its rows pending and
    the others are not held back.
    """
    await _advisory_lock(conn, COMPACTION_KEY)
    changed = 0
    failed: dict[int, str] = {}
    for rollup in ROLLUPS:
        for table, key, measures in (
            (rollup.clicks_table, rollup.clicks_key, CLICK_MEASURES),
            (rollup.events_table, rollup.events_key, EVENT_MEASURES),
        ):
            try:
                async with conn.begin_nested():
                    changed += await _fold(conn, table, key, measures, workspace_id=None)
                continue
            except DBAPIError as error:
                if not _caused_by_data(error):
                    raise
            workspaces = await conn.execute(
                text(f"SELECT DISTINCT workspace_id FROM {pending(table)} ORDER BY 1")
            )
            for workspace_id in workspaces.scalars().all():
                try:
                    async with conn.begin_nested():
                        changed += await _fold(
                            conn, table, key, measures, workspace_id=workspace_id
                        )
                except DBAPIError as error:
                    if not _caused_by_data(error):
                        raise
                    failed.setdefault(workspace_id, f"{table}: {error.orig}")
    return Compaction(changed=changed, failed=failed)


def _caused_by_data(error: DBAPIError) -> bool:
    """A data exception or constraint violation (SQLSTATE classes 22 and 23), which the same
    rows will meet again, unlike a lost connection or a timeout."""
    sqlstate = getattr(error.orig.__cause__ if error.orig else None, "sqlstate", None) or ""
    return sqlstate[:2] in ("22", "23")


async def _fold(
    conn: AsyncConnection,
    table: str,
    key: tuple[str, ...],
    measures: tuple[str, ...],
    *,
    workspace_id: int | None,
) -> int:
    """Move a pending table's rows (all, or one workspace's) into its rollup table."""
    sums = tuple(f"sum({m})" for m in measures)
    which = "" if workspace_id is None else " WHERE workspace_id = :workspace_id"
    moved = f"WITH delta AS (DELETE FROM {pending(table)}{which} RETURNING *)\n"
    result = await conn.execute(
        text(moved + _upsert(table, key, key, measures, sums)),
        {} if workspace_id is None else {"workspace_id": workspace_id},
    )
    counts = result.scalars().all()
    if 0 in counts:
        # A group whose events were all deleted or moved to another status.
        await conn.execute(text(f"DELETE FROM {table} WHERE {measures[0]} = 0"))
    return len(counts)


async def rebuild_rollups(
    conn: AsyncConnection, *, workspace_id: int | None = None, rollups: Sequence[Rollup] = ROLLUPS
) -> int:
    """Recompute rollups from the raw tables (one workspace, or all); returns rows written.

    For recovery, after loading data with the triggers disabled, and when a workspace changes
    its time zone. Writes wait until the caller's transaction ends, since a row committed
    between the delete and the recount would be counted twice or not at all: for one
    workspace only the writes to that workspace (the triggers share its advisory lock, this
    holds it alone), for all workspaces every write to clicks and conversion events.
    """
    if workspace_id is None:
        # SHARE ROW EXCLUSIVE: SHARE against writers, and one rebuild at a time.
        await conn.execute(text("LOCK TABLE clicks, conversion_events IN SHARE ROW EXCLUSIVE MODE"))
    else:
        # A writer's table lock, so that a rebuild of all workspaces waits for this one as
        # for any writer instead of adding its recount to this one's.
        await conn.execute(text("LOCK TABLE clicks, conversion_events IN ROW EXCLUSIVE MODE"))
        await _advisory_lock(conn, workspace_id % LOCK_KEYS)
    # No compaction meanwhile: it would fold pending rows this is about to recount.
    await _advisory_lock(conn, COMPACTION_KEY)
    # A recount of every row may take far longer than a request is allowed to.
    await conn.execute(text("SET LOCAL statement_timeout = 0"))
    where = "" if workspace_id is None else " WHERE workspace_id = :workspace_id"
    params = {} if workspace_id is None else {"workspace_id": workspace_id}
    clicks = f"(SELECT *, 1 AS sign FROM clicks{where})"
    events = f"(SELECT *, 1 AS sign FROM conversion_events{where})"
    written = 0
    for rollup in rollups:
        for table, statements in (
            (
                rollup.clicks_table,
                _clicks_statements(rollup, _clicks_delta(rollup, clicks)),
            ),
            (
                rollup.events_table,
                _events_statements(rollup, _events_delta(rollup, events, per_event=False)),
            ),
        ):
            await conn.execute(text(f"DELETE FROM {pending(table)}{where}"), params)
            await conn.execute(text(f"DELETE FROM {table}{where}"), params)
            for sql in statements:
                written += (await conn.execute(text(sql), params)).rowcount
    return written
