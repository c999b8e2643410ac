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
