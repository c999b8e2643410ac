"""Values written out as SQL literals, for statements sent in one simple-protocol message.

The simple protocol carries no parameters, but it carries several statements in one round
trip: the click writer sends a whole batch (BEGIN, its locks, the clicks, their rollup sums,
COMMIT) that way (see ``ingestion.clicks.writer``). Texts go in escape strings (``E''``), whose
escapes mean the same whatever ``standard_conforming_strings`` says, with backslashes and quotes
doubled; the client encoding is always UTF-8, where no byte of a multi-byte character looks
like a quote or a backslash; a NUL, which no text can hold, is refused. Everything but
integers, booleans and NULL is quoted, so no value is ever read as a keyword or an operator,
and takes its type from the column it goes to.
"""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal


def literal(value: object) -> str:
    """One value as SQL: NULL, an integer, TRUE or FALSE, or a quoted text, time or number."""
    if value is None:
        return "NULL"
    kind = type(value)
    if kind is str:
        return text(value)  # type: ignore[arg-type]
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if kind is int:
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            # It would be read in the session's time zone, whatever the caller meant.
            raise ValueError(f"a time without a time zone: {value}")
        return f"'{value.isoformat()}'"
    if isinstance(value, Decimal):
        return f"'{value}'"
    if isinstance(value, str):  # a StrEnum
        return text(str(value))
    raise TypeError(f"no SQL literal for {kind.__name__}")


class NulInTextError(ValueError):
    """No PostgreSQL text can hold a NUL (a COPY of one fails with SQLSTATE 22021); in a
    message, a raw NUL would end it early."""


def text(value: str) -> str:
    """A text as an escape string."""
    if "\\" in value or "'" in value:
        value = value.replace("\\", "\\\\").replace("'", "''")
    if "\x00" in value:
        raise NulInTextError(f"a text holds a NUL: {value[:40]!r}")
    return f"E'{value}'"


def row(values: Iterable[object]) -> str:
    """``(v1,v2,...)``: one row of a VALUES list."""
    return "(" + ",".join(map(literal, values)) + ")"
