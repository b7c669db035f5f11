"""Settings precedence: defaults < config file < environment < explicit values."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import Settings


def test_defaults_use_embedded_sqlite_and_outbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.database_url == "sqlite:///data/wirewatch.db"
    assert settings.outbox_dir == Path("data/outbox")
    assert settings.effective_mail_transport == "outbox"


def test_file_then_env_then_explicit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "wirewatch.toml"
    config.write_text('web_port = 9001\nlog_level = "DEBUG"\nmail_from = "a@b.example"\n')
    monkeypatch.setenv("WIREWATCH_CONFIG", str(config))
    monkeypatch.setenv("WIREWATCH_LOG_LEVEL", "WARNING")
    settings = Settings(mail_from="c@d.example")
    assert settings.web_port == 9001  # from the file
    assert settings.log_level == "WARNING"  # environment beats the file
    assert settings.mail_from == "c@d.example"  # explicit beats everything


def test_unknown_key_in_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "wirewatch.toml"
    config.write_text("web_prot = 1\n")
    monkeypatch.setenv("WIREWATCH_CONFIG", str(config))
    with pytest.raises(ConfigError, match="web_prot"):
        Settings()


def test_missing_config_file_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREWATCH_CONFIG", "/nonexistent/wirewatch.toml")
    with pytest.raises(ConfigError, match="not a file"):
        Settings()


def test_provider_variables_keep_their_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.secret")
    monkeypatch.setenv("SENDGRID_HOST", "http://127.0.0.1:9")
    settings = Settings()
    assert settings.effective_mail_transport == "sendgrid"
    assert settings.sendgrid_host == "http://127.0.0.1:9"
    assert settings.redacted()["sendgrid_api_key"] == "********"
    assert "SG.secret" not in str(settings.redacted())


def test_empty_variables_count_as_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("SENDGRID_API_KEY", "SMTP_URL", "WIREWATCH_MAIL_FROM", "WIREWATCH_REDIS_URL"):
        monkeypatch.setenv(name, "")
    settings = Settings()
    assert settings.sendgrid_api_key is None and settings.smtp_url is None
    assert settings.effective_mail_transport == "outbox"
    assert (
        settings.redis_url is None
        and settings.mail_from == Settings.model_fields["mail_from"].default
    )


def test_secret_from_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "key"
    secret.write_text("SG.from-file\n")
    monkeypatch.setenv("SENDGRID_API_KEY_FILE", str(secret))
    settings = Settings()
    assert settings.sendgrid_api_key is not None
    assert settings.sendgrid_api_key.get_secret_value() == "SG.from-file"


def test_smtp_transport_requires_url() -> None:
    with pytest.raises(ValueError, match="SMTP_URL"):
        Settings(mail_transport="smtp")


def test_database_url_is_checked_and_normalised() -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        Settings(database_url="mysql://x")
    assert Settings(database_url="postgresql://u@h/db").database_url.startswith(
        "postgresql+psycopg://"
    )


def test_password_in_database_url_is_redacted() -> None:
    shown = Settings(database_url="postgresql://user:hunter2@db/x").redacted()["database_url"]
    assert "hunter2" not in shown


def test_allow_list_from_comma_separated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1, localhost")
    assert Settings().allow_private_hosts == ["127.0.0.1", "localhost"]


def test_to_env_round_trips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = Settings(
        data_dir=tmp_path, allow_private_hosts=["127.0.0.1"], smtp_url="smtp://h:25"
    )
    for name, value in original.to_env().items():
        monkeypatch.setenv(name, value)
    again = Settings()
    assert again.allow_private_hosts == ["127.0.0.1"]
    assert again.database_url == original.database_url
    assert again.smtp_url == "smtp://h:25"
