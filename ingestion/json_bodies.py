"""JSON request bodies, read strictly.

msgspec decodes a body straight into its type, so a body nested deeper than the type allows is
refused at the first level that does not fit (decoded without a type, a thousand nested arrays
ran out of stack: a 500). It also refuses NaN, Infinity and lone surrogates, which the standard
library takes. But msgspec keeps the last value of a name given twice, and turns numbers into
floats; so a body it accepts is read once more by the standard library, whose parser shows
every (name, value) pair, and each number as it was written.
"""

import json
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")


class BodyError(ValueError):
    """A body that is not JSON of the expected type; the message says where."""


class AmbiguousName(BodyError):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name[:64]!r} is given twice with different values")
        self.name = name


def decode(body: bytes, decoder: msgspec.json.Decoder[T]) -> T:
    """``body`` decoded by ``decoder``, with one value per name in each of its objects."""
    value = _typed(body, decoder)
    json.loads(body, object_pairs_hook=_one_value_per_name)
    return value


_FLAT = msgspec.json.Decoder(dict[str, str | int | float | None])


def flat_pairs(body: bytes) -> list[tuple[str, str]]:
    """A flat JSON object's (name, value) pairs as sent: numbers as written, null as ""."""
    _typed(body, _FLAT)
    items: list[tuple[str, str | None]] = json.loads(
        body, object_pairs_hook=list, parse_int=str, parse_float=str
    )
    return [(name, "" if value is None else value) for name, value in items]


def _typed(body: bytes, decoder: msgspec.json.Decoder[T]) -> T:
    try:
        return decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise BodyError(str(exc)) from None


def _one_value_per_name(items: list[tuple[str, Any]]) -> dict[str, Any]:
    decoded: dict[str, Any] = {}
    for name, value in items:
        if decoded.get(name, value) != value:
            raise AmbiguousName(name)
        decoded[name] = value
    return decoded
