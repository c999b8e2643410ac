"""Every statement the app sends during the suite, checked against Citus's routing rules.

Citus is not installable here, so the suite holds its rules on plain PostgreSQL: each statement
that api/, ingestion/, models/, clicktrail/ or migrations/ sends must reach one shard (see
tests/routing.py), unless its sender is on ALLOWED with the reason it may span workspaces.
Statements the tests send themselves (set-up, assertions) are not the app's and are skipped.

Capture is at asyncpg's Connection, which every engine and raw connection of the app uses:
its query loggers see neither prepared statements (SQLAlchemy's way) nor COPY, so the three
places every statement passes through are wrapped instead. The sender is the innermost frame
of our own code on the awaiting chain at the moment the statement is sent.
"""

import contextvars
import json
import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.routing import Rules, problems

REPOSITORY = Path(__file__).resolve().parent.parent
APP_PACKAGES = frozenset({"api", "ingestion", "forwarder", "models", "clicktrail", "migrations"})
# Set to a path to write every statement that breaks a rule, allowed or not, as JSON lines.
REPORT_VARIABLE = "CLICKTRAIL_ROUTING_REPORT"

# Senders whose statements may span workspaces, by module or module:function prefix.
ALLOWED = {
    "migrations.": "schema changes, run once by `clicktrail migrate`; Citus sends DDL to shards",
    "models.migrate:": "the migration lock and alembic's own table, on the coordinator",
    "models.partitions:": "monthly partitions of every workspace at once, created ahead by DDL",
    "ingestion.clicks.repository:prune_fingerprints": (
        "retention sweep over all workspaces every few minutes, off the request path"
    ),
    "models.rollups:_pending_workspaces": (
        "the compactor's list of workspaces with pending rollup changes, every few seconds, "
        "off the request path; each workspace is then folded by a statement of its own"
    ),
    "models.rollups:workspace_ids": (
        "the list of every workspace that `clicktrail rebuild-rollups` recounts one by one"
    ),
}


@dataclass(frozen=True, slots=True)
class Sent:
    sql: str
    sender: str  # module:function


class StatementCapture:
    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.checked = 0  # statements before this index have been checked
        self.rules = Rules.from_metadata()
        self._verdicts: dict[str, list[str]] = {}
        self._quiet = contextvars.ContextVar("quiet", default=False)

    def record(self, sql: str) -> None:
        if self._quiet.get():
            return
        sender = _sender(sys._getframe(2))
        if sender is not None:
            self.sent.append(Sent(sql, sender))

    def broken(self, sent: list[Sent]) -> list[tuple[Sent, list[str]]]:
        """Each statement that breaks a rule, with the rules it breaks (allowed ones too)."""
        found = []
        for item in dict.fromkeys(sent):
            if item.sql not in self._verdicts:
                self._verdicts[item.sql] = problems(item.sql, self.rules)
            if self._verdicts[item.sql]:
                found.append((item, self._verdicts[item.sql]))
        return found

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        capture = self
        connection = asyncpg.connection.Connection
        get_statement = connection._get_statement  # type: ignore[attr-defined]
        execute = connection.execute
        copy_records = connection.copy_records_to_table

        async def _get_statement(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            capture.record(query)
            return await get_statement(self, query, *args, **kwargs)

        async def _execute(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            if not args:  # the simple protocol; with arguments it passes _get_statement
                capture.record(query)
            return await execute(self, query, *args, **kwargs)

        async def _copy_records(
            self: Any, table_name: str, *, columns: Any = None, schema_name: Any = None, **kw: Any
        ) -> Any:
            target = f'"{schema_name}"."{table_name}"' if schema_name else f'"{table_name}"'
            listed = "(" + ", ".join(f'"{c}"' for c in columns) + ")" if columns else ""
            capture.record(f"COPY {target}{listed} FROM STDIN (FORMAT binary)")
            # Its column probe (`SELECT cols FROM table LIMIT 1`) is prepared, never run.
            token = capture._quiet.set(True)
            try:
                return await copy_records(
                    self, table_name, columns=columns, schema_name=schema_name, **kw
                )
            finally:
                capture._quiet.reset(token)

        wrappers: dict[str, Callable[..., Coroutine[Any, Any, Any]]] = {
            "_get_statement": _get_statement,
            "execute": _execute,
            "copy_records_to_table": _copy_records,
        }
        for name, wrapper in wrappers.items():
            monkeypatch.setattr(connection, name, wrapper)

    def report(self, broken: list[tuple[Sent, list[str]]]) -> None:
        path = os.environ.get(REPORT_VARIABLE)
        if not path:
            return
        with open(path, "a", encoding="utf-8") as out:
            for sent, found in broken:
                out.write(json.dumps({"sender": sent.sender, "sql": sent.sql, "problems": found}))
                out.write("\n")


def allowed(sender: str) -> str | None:
    for prefix, reason in ALLOWED.items():
        if sender.startswith(prefix):
            return reason
    return None


def _sender(frame: Any) -> str | None:
    """The app function on the awaiting chain nearest the statement; None for a test's own."""
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path != Path(__file__) and path.is_relative_to(REPOSITORY) and ".venv" not in path.parts:
            parts = path.relative_to(REPOSITORY).with_suffix("").parts
            if parts[0] not in APP_PACKAGES:
                return None
            return ".".join(parts) + ":" + str(frame.f_code.co_qualname)
        # SQLAlchemy's run_sync and ORM code run in a greenlet that awaits through this frame:
        # the sync code that sent the statement (a migration, say) is on that greenlet's stack.
        child = frame.f_locals.get("context") if frame.f_code.co_name == "greenlet_spawn" else None
        if child is not None and child.gr_frame is not None:
            inner = _sender(child.gr_frame)
            if inner is not None:
                return inner
        frame = frame.f_back
    return None


def check(capture: StatementCapture) -> Iterator[str]:
    """Lines describing each statement sent since the last check that breaks a rule unallowed."""
    since, capture.checked = capture.checked, len(capture.sent)
    broken = capture.broken(capture.sent[since:])
    capture.report(broken)
    for sent, found in broken:
        if allowed(sent.sender) is None:
            yield f"{sent.sender}: {'; '.join(found)}\n    {' '.join(sent.sql.split())[:600]}"
