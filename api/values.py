"""Checks of argument values that many fields share: times, time zones, lists, row ids.

Each refuses what PostgreSQL or Python would fail on later, less clearly: a time past the
range the reports compute in, an id past bigint, a list of a hundred thousand values.
"""

import zoneinfo
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

from api.errors import QueryInputError
from api.ids import parse_id

MAX_LIST_LENGTH = 1_000
# Reports step a bucket (up to a month) past the range and into any time zone: a margin on
# both ends of what Python's datetime holds (years 1 to 9999).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)

T = TypeVar("T")


def time_problem(value: datetime, name: str) -> str | None:
    """Why ``value`` cannot be used as a time, or None."""
    if value.tzinfo is None:
        return f"{name} needs a time zone offset, e.g. 2026-11-01T00:00:00Z"
    try:
        within = EARLIEST <= value <= LATEST
    except OverflowError:
        # An offset pushing year 1 or 9999 out of the range Python holds.
        within = False
    if not within:
        return (
            f"{name} must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC); leave it "
            "out for no bound"
        )
    return None


def checked_time(value: datetime, name: str) -> datetime:
    problem = time_problem(value, name)
    if problem is not None:
        raise QueryInputError(problem)
    return value


@cache
def time_zones() -> frozenset[str]:
    """IANA time zone names (reading them scans the tz database: once per process)."""
    return frozenset(zoneinfo.available_timezones())


def bounded(values: list[T], name: str) -> list[T]:
    if len(values) > MAX_LIST_LENGTH:
        raise QueryInputError(f"{name} takes at most {MAX_LIST_LENGTH} values")
    return values


def row_ids(values: list[Any], name: str) -> list[int]:
    """Row ids of a filter list; one that is no id is refused, with the value shown."""
    ids = []
    for value in bounded(values, name):
        number = parse_id(value)
        if number is None:
            raise QueryInputError(
                f"{name} must be ids (numbers up to 2^63 - 1); got {str(value)[:40]!r}"
            )
        ids.append(number)
    return ids
