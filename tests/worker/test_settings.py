"""Settings come from the environment and a TOML file; bad keys are named; secrets stay secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.settings import ConfigError, load_settings, read_secret


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "icp.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no config the worker has one HubSpot connection and a SQLite store."""
    monkeypatch.delenv("ICP_CONFIG", raising=False)
    monkeypatch.delenv("ICP_DATABASE_URL", raising=False)
    settings = load_settings()
    assert settings.database_url.startswith("sqlite:///") and list(settings.connections) == ["default"]


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ICP_DATABASE_URL wins over the file's database_url."""
    path = write(tmp_path, 'database_url = "sqlite:///file.db"\n')
    monkeypatch.setenv("ICP_DATABASE_URL", "postgresql://db/icp")
    assert load_settings(path).database_url == "postgresql://db/icp"


@pytest.mark.parametrize(("text", "key"), [
    ('[connections.main]\ncrm = "pipedrive"\n', "connections.main.crm"),
    ('[connections.main.hubspot]\nper_10s = 1000\n', "connections.main.hubspot.per_10s"),
    ('[connections.main]\ntoken = "abc"\n', "connections.main.token"),
    ("[connections]\n", "connections"),
])
def test_bad_keys_are_named(tmp_path: Path, text: str, key: str) -> None:
    """Validation errors name the key and what is expected."""
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_settings(write(tmp_path, text))


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """A config path that cannot be read is reported as such."""
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "nope.toml")


def test_secret_from_file_or_environment(tmp_path: Path) -> None:
    """A token comes from a secrets file first, else the environment; its value never shows in repr."""
    secret_file = tmp_path / "token"
    secret_file.write_text("pat-from-file\n")
    assert read_secret("T", secret_file, {}).get_secret_value() == "pat-from-file"
    token = read_secret("T", None, {"T": "pat-from-env"})
    assert token.get_secret_value() == "pat-from-env" and "pat-from-env" not in repr(token)
    with pytest.raises(ConfigError, match="T: no credential set") as caught:
        read_secret("T", None, {})
    assert "pat" not in str(caught.value)
