import pytest

from models.settings import Settings


def test_database_url_is_read_from_either_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://a@h/db1")
    assert Settings(_env_file=None).database_url == "postgresql://a@h/db1"
    monkeypatch.setenv("CLICKTRAIL_DATABASE_URL", "postgresql://b@h/db2")
    assert Settings(_env_file=None).database_url == "postgresql://b@h/db2"


def test_settings_are_validated(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CLICKTRAIL_INGESTION_PORT", "0")
    with pytest.raises(ValueError, match="ingestion_port"):
        Settings(_env_file=None)


def test_raw_rows_are_kept_forever_unless_a_retention_is_set(monkeypatch: pytest.MonkeyPatch):
    assert Settings(_env_file=None).raw_retention_days is None
    monkeypatch.setenv("CLICKTRAIL_RAW_RETENTION_DAYS", " 400 ")
    assert Settings(_env_file=None).raw_retention_days == 400


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "keep raw rows from 1 to 3650 days, or unset the variable to keep them forever"),
        ("-30", "keep raw rows from 1 to 3650 days"),
        ("3651", "keep raw rows from 1 to 3650 days"),
        ("1" + "0" * 30, "keep raw rows from 1 to 3650 days"),
        ("30.5", "valid integer"),
        ("1e3", "valid integer"),
        ("thirty", "valid integer"),
        ("", "valid integer"),
    ],
)
def test_hostile_raw_retention_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
):
    monkeypatch.setenv("CLICKTRAIL_RAW_RETENTION_DAYS", value)
    with pytest.raises(ValueError, match="raw_retention_days") as refused:
        Settings(_env_file=None)
    assert message in str(refused.value)
