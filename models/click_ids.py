"""Click ids: 48-bit millisecond timestamp + 128 random bits, as 44 lower-case hex digits.

Carrying the click time inside the id lets a postback find the click's partition, and the
partition of its conversion events, from the id alone. Hex keeps ids URL-safe, sortable by
time, immune to networks that change their case, and cheap to encode on the hot path.
"""

import re
import secrets
from datetime import UTC, datetime, timedelta

CLICK_ID_LENGTH = 44
_PATTERN = re.compile(r"[0-9a-f]{44}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
# 48 bits of milliseconds reach the year 10889, past what a datetime (and so a click) can hold:
# such an id was never issued.
_MAX_MILLIS = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // _MILLISECOND


def new_click_id(now: datetime) -> tuple[str, datetime]:
    """Return a fresh click id and the click time it encodes (``now`` at millisecond precision)."""
    # Integer arithmetic: through a float timestamp, about one time in a hundred lands a
    # millisecond off (and the last millisecond of 9999 overflows).
    millis = (now - _EPOCH) // _MILLISECOND
    click_id = f"{millis:012x}{secrets.token_hex(16)}"
    return click_id, _from_millis(millis)


def click_time(click_id: str) -> datetime | None:
    """The click time a click id encodes, or None when the value is not a clicktrail click id."""
    candidate = click_id.lower()
    if not _PATTERN.fullmatch(candidate):
        return None
    millis = int(candidate[:12], 16)
    return _from_millis(millis) if millis <= _MAX_MILLIS else None


def _from_millis(millis: int) -> datetime:
    # Integer arithmetic: a float division can land a microsecond off the stored time.
    return _EPOCH + millis * _MILLISECOND
