"""GraphQL ids: of database rows (decimal bigint strings), and of clicks."""

from datetime import datetime

from api.mutation_errors import Missing
from models.click_ids import click_time

_MAX_ID = 2**63 - 1


def parse_id(value: str) -> int | None:
    """The row id, or None for a string that cannot name any row (so: not found)."""
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        return None
    number = int(value)
    return number if number <= _MAX_ID else None


def required_id(value: str, what: str) -> int:
    """The row id a mutation acts on; an id that cannot exist is simply not found."""
    number = parse_id(value)
    if number is None:
        raise Missing(f"no {what} with id {value!r}")
    return number


def click_time_of(click_id: str) -> datetime | None:
    """The time a click id encodes, or None for a string that cannot name any click."""
    try:
        return click_time(click_id)
    except OverflowError:
        # An id whose time is past year 9999 (44 f's): models.click_ids does not refuse it.
        return None
