"""The live feed's announcements: what ingestion NOTIFYs when it records events, and how the
API reads them back.

A notification is delivered only if, and after, the transaction that sent it commits, to every
session LISTENing on the channel, whichever process recorded the event. Its payload is kept
small (PostgreSQL caps it at 8,000 bytes, and the notification queue is shared by the whole
server): the keys of the events, which the API then reads. An entry is
`<workspace id> <event id> <click time in hex milliseconds> <a|u>` (added, or updated: a new
status or amount), entries separated by `;`.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from models.click_ids import click_time

CHANNEL = "clicktrail_events"
# Below PostgreSQL's 8,000-byte limit with room to spare.
MAX_PAYLOAD_BYTES = 7_000
ADDED, UPDATED = "a", "u"
_HEX12 = re.compile(r"[0-9a-f]{12}")


@dataclass(frozen=True, slots=True)
class Announced:
    workspace_id: int
    event_id: int
    click_created_at: datetime
    # ADDED or UPDATED
    change: str


def payloads(events: Iterable[tuple[int, int, str, str]]) -> list[str]:
    """Payloads announcing (workspace id, event id, click id, change) entries, in order."""
    result: list[str] = []
    current: list[str] = []
    size = 0
    for workspace_id, event_id, click_id, change in events:
        # The click time is the id's first 12 hex digits (models.click_ids). Only what this
        # format allows goes in: ingestion writes payloads into the NOTIFY's text.
        click_hex = click_id[:12].lower()
        if not _HEX12.fullmatch(click_hex) or change not in (ADDED, UPDATED):
            continue
        entry = f"{int(workspace_id)} {int(event_id)} {click_hex} {change}"
        if current and size + len(entry) + 1 > MAX_PAYLOAD_BYTES:
            result.append(";".join(current))
            current, size = [], 0
        current.append(entry)
        size += len(entry) + 1
    if current:
        result.append(";".join(current))
    return result


def announced(payload: str) -> Iterator[Announced]:
    """The entries of a payload; anything malformed (not sent by clicktrail) is skipped."""
    for entry in payload.split(";"):
        parts = entry.split(" ")
        if len(parts) != 4 or parts[3] not in (ADDED, UPDATED):
            continue
        workspace, event, click_hex, change = parts
        if not (workspace.isdigit() and event.isdigit()) or len(workspace) + len(event) > 38:
            continue
        moment = click_time(click_hex + "0" * 32) if len(click_hex) == 12 else None
        if moment is not None:
            yield Announced(int(workspace), int(event), moment, change)
