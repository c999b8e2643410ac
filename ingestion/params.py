"""Query-string and form parsing with the limits hostile input needs, and the trade's aliases."""

import re
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import parse_qsl

from ingestion.errors import IngestionError

# Parameter names networks use, in order of preference (shared with uploads' column names).
from models.parameter_names import AMOUNT as AMOUNT
from models.parameter_names import CLICK_ID as CLICK_ID
from models.parameter_names import CONVERSION_TIME as CONVERSION_TIME
from models.parameter_names import CURRENCY as CURRENCY
from models.parameter_names import STATUS as STATUS
from models.parameter_names import TXID as TXID
from models.parameter_names import TYPE as TYPE

MAX_QUERY_BYTES = 16 * 1024
# A POST body carries what a query string would: anything longer is refused unread.
MAX_BODY_BYTES = MAX_QUERY_BYTES
MAX_PARAMS = 100
MAX_NAME_LENGTH = 64
MAX_VALUE_LENGTH = 2048
# For the OpenAPI entries: PostgreSQL text cannot hold a NUL, so no value may carry one.
NO_NUL = {"pattern": "^[^\\x00]*$"}
# An amount, however it arrives. Decimal() alone also takes "1_000", "-0", "1e3", " 1", "+1",
# "inf", "nan" and digits of other scripts; no network means those.
AMOUNT_SYNTAX = re.compile(r"[0-9]+(\.[0-9]+)?")


def bad_parameters(detail: str) -> IngestionError:
    return IngestionError("bad_parameters", detail, status_code=400)


def parse_params(raw: bytes) -> dict[str, str]:
    """Decode an application/x-www-form-urlencoded string (query or body) into single values.

    Refuses what would be unsafe or ambiguous to store: oversized input, too many parameters,
    invalid UTF-8, NUL bytes, and one name given twice with different values.
    """
    if len(raw) > MAX_QUERY_BYTES:
        raise bad_parameters(f"parameters are {len(raw)} bytes; at most {MAX_QUERY_BYTES} allowed")
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_PARAMS,
        )
    except UnicodeDecodeError as exc:
        raise bad_parameters("parameters are not valid UTF-8 (after percent-decoding)") from exc
    except ValueError as exc:
        raise bad_parameters(f"more than {MAX_PARAMS} parameters") from exc
    return single_values(pairs)


def single_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Checked (name, value) pairs as a dict; one name given twice with different values is
    refused."""
    params: dict[str, str] = {}
    for name, value in pairs:
        check_param(name, value)
        if params.get(name, value) != value:
            raise IngestionError(
                "ambiguous_parameter", f"parameter {name!r} is given twice with different values"
            )
        params[name] = value
    return params


def check_param(name: str, value: str) -> None:
    if "\x00" in name or "\x00" in value:
        raise bad_parameters(f"parameter {name[:MAX_NAME_LENGTH]!r} contains a NUL byte")
    if len(name) > MAX_NAME_LENGTH:
        raise bad_parameters(f"a parameter name is longer than {MAX_NAME_LENGTH} characters")
    if len(value) > MAX_VALUE_LENGTH:
        raise bad_parameters(
            f"parameter {name!r} is {len(value)} characters; at most {MAX_VALUE_LENGTH} allowed"
        )


def pick(params: Mapping[str, str], names: Sequence[str]) -> str | None:
    """The value given under any of ``names``; two different non-empty values are refused."""
    values = {params[name] for name in names if params.get(name)}
    if len(values) > 1:
        given = ", ".join(f"{name}={params[name]!r}" for name in names if params.get(name))
        raise IngestionError("ambiguous_parameter", f"conflicting values: {given}")
    return values.pop() if values else None
