"""Properties of the parsers every request meets: whatever arrives, the answer is a value or the
service's own refusal (a 4xx), never another exception; and what is valid comes through intact."""

import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from ipaddress import ip_address
from typing import TypeVar
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestion.clicks.schemas import CLICK_BODY
from ingestion.errors import IngestionError
from ingestion.json_bodies import BodyError, decode, flat_pairs
from ingestion.params import MAX_NAME_LENGTH, MAX_PARAMS, parse_params, single_values
from ingestion.postbacks.records import Hit, WorkspaceRules
from ingestion.postbacks.service import _amount, _check_source, _report
from ingestion.postbacks.signature import sign
from models.click_ids import new_click_id
from models.enums import ConversionStatus, HitKind

T = TypeVar("T")
# What a valid parameter may be: no NUL (PostgreSQL text), no surrogate (not UTF-8), in bounds.
_TEXT = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
_NAMES = st.text(_TEXT, min_size=1, max_size=MAX_NAME_LENGTH)
_VALUES = st.text(_TEXT, max_size=100)
_PARAMS = st.dictionaries(_NAMES, _VALUES, max_size=20)
_WORKSPACE = WorkspaceRules(
    id=1,
    currency="USD",
    ip_allowlist=(),
    signing_secret="s3cret",
    status_aliases={"sale": "approved"},
    types={},
)
_PLAIN_DECIMALS = st.from_regex(r"\A[0-9]{1,12}(\.[0-9]{1,6})?\Z")


@given(st.binary(max_size=300))
def test_any_query_string_parses_or_is_refused_as_bad_input(raw: bytes):
    params = _outcome(lambda: parse_params(raw))
    if isinstance(params, IngestionError):
        assert params.status_code == 400
        assert params.code in {"bad_parameters", "ambiguous_parameter"}
    else:
        assert len(params) <= MAX_PARAMS


@given(_PARAMS)
def test_valid_parameters_round_trip_through_a_query_string_and_a_json_body(
    params: dict[str, str],
):
    assert parse_params(urlencode(params).encode()) == params
    assert single_values(flat_pairs(json.dumps(params).encode())) == params


@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_json_body_decodes_or_is_refused_as_a_bad_body(raw: bytes):
    for read in (flat_pairs, lambda body: decode(body, CLICK_BODY)):
        with contextlib.suppress(BodyError):
            read(raw)


@given(st.text(max_size=40))
def test_any_amount_text_is_a_decimal_in_bounds_or_a_bad_amount(value: str):
    amount = _outcome(lambda: _amount(value))
    if isinstance(amount, IngestionError):
        assert (amount.status_code, amount.code) == (400, "bad_amount")
    else:
        assert amount is not None
        assert value.isascii()
        assert Decimal(0) <= amount < Decimal("1e12")


@given(_PLAIN_DECIMALS)
def test_a_plain_decimal_is_its_amount(value: str):
    assert _amount(value) == Decimal(value)


@given(
    click_at=st.datetimes(min_value=datetime(2000, 1, 1), timezones=st.just(UTC)),
    amount=_PLAIN_DECIMALS,
    txid=st.text(_TEXT, max_size=255),
    type_name=st.sampled_from(["conversion", "transaction", "Upsell"]),
    status=st.sampled_from([*ConversionStatus, "SALE"]),
    currency=st.sampled_from(["EUR", "usd"]),
    other=st.dictionaries(_NAMES.map("x_{}".format), _VALUES, max_size=5),
)
def test_a_valid_postback_round_trips_to_its_report(
    click_at: datetime,
    amount: str,
    txid: str,
    type_name: str,
    status: str,
    currency: str,
    other: dict[str, str],
):
    click_id, created_at = new_click_id(click_at)
    sent = {"cid": click_id.upper(), "payout": amount, "tid": txid, "et": type_name}
    sent |= {"status": status, "currency": currency, **other}
    params = parse_params(urlencode(sent).encode())
    report = _report(params, params["cid"], _WORKSPACE, _signed_hit(""))
    assert (report.click_id, report.click_created_at) == (click_id, created_at)
    assert report.amount == Decimal(amount)
    assert (report.txid, report.type_name, report.currency) == (
        txid,
        type_name.lower(),
        "EUR" if currency == "EUR" else "USD",
    )
    assert report.status == (ConversionStatus.APPROVED if status == "SALE" else status)
    assert report.params == sent


@given(st.text(max_size=200))
def test_any_signature_header_verifies_or_is_a_bad_signature(header: str):
    with pytest.raises(IngestionError) as refused:
        _check_source(_WORKSPACE, _signed_hit(header))
    assert (refused.value.status_code, refused.value.code) == (401, "bad_signature")


@given(st.integers(min_value=0, max_value=10**500))
def test_any_signature_time_verifies_or_is_a_bad_signature(timestamp: int):
    now = datetime.now(UTC)
    header = sign("s3cret", timestamp, b"clickid=1")
    refused = _outcome(lambda: _check_source(_WORKSPACE, _signed_hit(header, now=now)))
    if isinstance(refused, IngestionError):
        assert (refused.status_code, refused.code) == (401, "bad_signature")
    else:
        assert abs(now.timestamp() - timestamp) <= 300


def _outcome(call: Callable[[], T]) -> T | IngestionError:
    """What ``call`` returns, or the refusal it raises (any other exception fails the test)."""
    try:
        return call()
    except IngestionError as exc:
        return exc


def _signed_hit(header: str, now: datetime | None = None) -> Hit:
    return Hit(
        kind=HitKind.POSTBACK,
        method="GET",
        secret="s" * 32,
        query=b"clickid=1",
        body=None,
        source_ip=ip_address("203.0.113.1"),
        received_at=now or datetime.now(UTC),
        signature=header,
    )
