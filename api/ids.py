"""GraphQL ids of database rows: decimal bigint strings."""

from api.mutation_errors import Missing

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
