from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from models.click_ids import CLICK_ID_LENGTH, click_time, new_click_id


def test_click_id_carries_its_click_time_to_the_millisecond():
    now = datetime(2026, 11, 25, 13, 7, 21, 792_613, tzinfo=UTC)
    click_id, created_at = new_click_id(now)
    assert created_at == datetime(2026, 11, 25, 13, 7, 21, 792_000, tzinfo=UTC)
    assert click_time(click_id) == created_at


def test_click_id_is_url_safe_and_case_insensitive():
    click_id, created_at = new_click_id(datetime.now(UTC))
    assert len(click_id) == CLICK_ID_LENGTH
    assert click_id.isalnum()
    assert click_id == click_id.lower()
    assert click_time(click_id.upper()) == created_at


def test_click_ids_are_unique_and_sort_by_time():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [new_click_id(start + timedelta(milliseconds=i))[0] for i in range(2000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)


def test_foreign_values_are_not_click_ids():
    for value in ["", "abc", "x" * CLICK_ID_LENGTH, "' OR 1=1 --" + "0" * 33, "0" * 45, "g" * 44]:
        assert click_time(value) is None


def test_an_id_whose_time_is_past_the_year_9999_is_not_a_click_id():
    last, _ = new_click_id(datetime.max.replace(tzinfo=UTC))
    assert click_time(last) == datetime(9999, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC)
    following = f"{int(last[:12], 16) + 1:012x}" + last[12:]
    for value in [following, "f" * CLICK_ID_LENGTH, "F" * CLICK_ID_LENGTH]:
        assert click_time(value) is None


@given(st.datetimes(min_value=datetime(1970, 1, 1), timezones=st.just(UTC)))
def test_every_click_time_round_trips_to_the_millisecond(moment: datetime):
    click_id, created_at = new_click_id(moment)
    assert created_at == moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    assert click_time(click_id) == click_time(click_id.upper()) == created_at


@given(st.text())
def test_any_text_is_a_click_id_or_none(value: str):
    created_at = click_time(value)
    if created_at is not None:
        assert len(value) == CLICK_ID_LENGTH
        assert all(c in "0123456789abcdefABCDEF" for c in value)
