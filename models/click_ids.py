"""Click ids: 48-bit millisecond timestamp + 128 random bits, base32hex, lower case.

Carrying the click time inside the id lets a postback find the click's partition, and the
partition of its conversion events, from the id alone. base32hex keeps ids URL-safe, sortable
by time and immune to networks that change their case.
"""

import base64
import re
import secrets
from datetime import UTC, datetime, timedelta

CLICK_ID_LENGTH = 36
_PATTERN = re.compile(r"[0-9a-v]{36}")
_PADDING = "===="
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def new_click_id(now: datetime) -> tuple[str, datetime]:
    """Return a fresh click id and the click time it encodes (``now`` at millisecond precision)."""
    millis = int(now.timestamp() * 1000)
    raw = millis.to_bytes(6, "big") + secrets.token_bytes(16)
    click_id = base64.b32hexencode(raw).decode("ascii").rstrip("=").lower()
    return click_id, _from_millis(millis)


def click_time(click_id: str) -> datetime | None:
    """The click time a click id encodes, or None when the value is not a clicktrail click id."""
    candidate = click_id.lower()
    if not _PATTERN.fullmatch(candidate):
        return None
    raw = base64.b32hexdecode(candidate.upper() + _PADDING)
    return _from_millis(int.from_bytes(raw[:6], "big"))


def _from_millis(millis: int) -> datetime:
    # Integer arithmetic: a float division can land a microsecond off the stored time.
    return _EPOCH + timedelta(milliseconds=millis)
