"""The one settings object every part of wirewatch reads.

Precedence, lowest to highest: built-in defaults < config file (TOML) <
environment variables < values passed explicitly (CLI flags, tests).

The config file is ``./wirewatch.toml`` when present, or the path in
``WIREWATCH_CONFIG``. Keys in the file are the field names below
(``database_url = "..."``). Environment variables are the field names in
upper case with the ``WIREWATCH_`` prefix, except the mail-provider settings,
which keep the names their providers document (``SENDGRID_API_KEY``,
``SENDGRID_HOST``, ``SMTP_URL``). Each secret may also be given as a path in a
``*_FILE`` variable (``SENDGRID_API_KEY_FILE``), as container secrets are.

``docs/configuration.md`` lists every setting; a test fails when one is added
here without being documented there.
"""

from __future__ import annotations

import os
import tomllib
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from core import locale_codes
from core.errors import ConfigError

DEFAULT_CONFIG_FILE = "wirewatch.toml"
DEFAULT_MAIL_FROM = "wirewatch <alerts@wirewatch.localhost>"
# The frequencies a subscription may have (db.models.Frequency), as settings name them.
DIGEST_FREQUENCIES = ("instant", "hourly", "daily", "weekly")
SECRET_FIELDS = ("sendgrid_api_key", "secret_key", "admin_token", "metrics_token")
# Secrets that, left unset, are generated once into a file of data_dir (web/auth.py,
# alerts/tokens.py): `config show` says where, since the file is where to read them.
GENERATED_SECRET_FILES = {"admin_token": "admin_token", "secret_key": "secret_key"}
PACKAGE_DATA = Path(__file__).resolve().parent / "data"


def _config_file_path() -> Path | None:
    explicit = os.environ.get("WIREWATCH_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"WIREWATCH_CONFIG points at {explicit!r}, which is not a file")
        return path
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


class _TomlFileSource(PydanticBaseSettingsSource):
    """Reads the optional TOML config file; unknown keys are an error, not a silent no-op."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = _config_file_path()
        if path is None:
            return {}
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
        known = set(self.settings_cls.model_fields)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(unknown)}")
        return data


def _secret_files_source() -> dict[str, Any]:
    values: dict[str, Any] = {}
    env_names = {
        "sendgrid_api_key": "SENDGRID_API_KEY_FILE",
        "secret_key": "WIREWATCH_SECRET_KEY_FILE",
        "admin_token": "WIREWATCH_ADMIN_TOKEN_FILE",
        "metrics_token": "WIREWATCH_METRICS_TOKEN_FILE",
    }
    for field, env_name in env_names.items():
        path = os.environ.get(env_name)
        if path:
            try:
                values[field] = Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{env_name}={path!r} cannot be read: {exc}") from exc
    return values


class Settings(BaseSettings):
    """wirewatch configuration; see docs/configuration.md for each field."""

    model_config = SettingsConfigDict(
        env_prefix="WIREWATCH_",
        # An empty variable means unset, as a compose file passes `KEY: ${KEY:-}`.
        env_ignore_empty=True,
        extra="ignore",
        populate_by_name=True,
        validate_default=True,
    )

    # Storage
    data_dir: Path = Path("data")
    database_url: str = ""
    # Sources and topics loaded by `wirewatch init` (YAML files users edit).
    sources_file: Path = PACKAGE_DATA / "sources.yaml"
    topics_file: Path = PACKAGE_DATA / "default_topics.yaml"
    # Extra entity aliases for queries (@name), extending core/data/aliases.yaml.
    aliases_file: Path | None = None

    # Web
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8000, ge=0, le=65535)
    base_url: str = "http://127.0.0.1:8000"
    # Admin actions (sources, crawls, topics) need this token (generated into data_dir
    # when unset); /metrics needs the metrics token, or the admin token when that is unset.
    admin_token: SecretStr | None = None
    metrics_token: SecretStr | None = None
    archive_public: bool = True
    # The interface language when the reader chose none and the browser asks for none
    # we have, and of the emails of subscribers who never chose (core/i18n.py).
    default_locale: str = "en"
    crawl_trigger_limit: int = Field(default=10, ge=1)

    # Mail
    mail_from: str = DEFAULT_MAIL_FROM
    outbox_dir: Path | None = None
    sendgrid_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SENDGRID_API_KEY", "sendgrid_api_key")
    )
    sendgrid_host: str = Field(
        default="https://api.sendgrid.com",
        validation_alias=AliasChoices("SENDGRID_HOST", "sendgrid_host"),
    )
    smtp_url: str | None = Field(
        default=None, validation_alias=AliasChoices("SMTP_URL", "smtp_url")
    )
    mail_transport: Literal["auto", "outbox", "smtp", "sendgrid"] = "auto"
    send_max_attempts: int = Field(default=5, ge=1, le=20)
    send_backoff_max_seconds: float = Field(default=60.0, ge=0)
    digest_max_items: int = Field(default=50, ge=1, le=500)
    # Largest digest message on the wire (MIME, every part); entries that would make it
    # larger go out in the next message of the same run.
    digest_max_bytes: int = Field(default=1_000_000, ge=100_000, le=25_000_000)
    # Digests of these frequencies carry a stories-per-day chart in their footer (an
    # inline PNG over the last digest_chart_days days); "off" for none.
    digest_chart: str = "weekly"
    digest_chart_days: int = Field(default=28, ge=14, le=92)
    # A webhook POST gets this long in all (connect, send, the whole answer).
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Instant digests wait at most this long for the crawl in progress to finish.
    instant_batch_minutes: float = Field(default=5.0, ge=0, le=24 * 60)
    # How often the running service looks for crawls of other processes that ended,
    # stories waiting to be matched and instant messages whose wait is over.
    instant_poll_seconds: float = Field(default=5.0, gt=0, le=3600)

    # Subscriptions: signing key for links in emails (generated into data_dir when unset),
    # the SendGrid event webhook's verification key, and the subscribe rate limit.
    secret_key: SecretStr | None = None
    sendgrid_webhook_public_key: str | None = None
    subscribe_rate_limit: int = Field(default=10, ge=1)

    # Crawling
    user_agent: str = "wirewatch/0.1 (+https://github.com/wirewatch/wirewatch)"
    download_timeout: float = Field(default=30.0, gt=0)
    download_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    download_warn_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    max_redirects: int = Field(default=5, ge=0, le=20)
    concurrent_requests: int = Field(default=16, ge=1)
    concurrent_requests_per_domain: int = Field(default=1, ge=1)
    download_delay: float = Field(default=1.0, ge=0)
    obey_robots_txt: bool = True
    follow_article_links: bool = True
    telegram_backfill_pages: int = Field(default=5, ge=0, le=100)
    # Article pages are parsed in worker processes, each page under a time and size limit
    # (crawler/extraction/pool.py). 0 workers: one per core.
    extraction_workers: int = Field(default=0, ge=0, le=64)
    extraction_time_limit: float = Field(default=20.0, gt=0, le=600)
    extraction_max_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    allow_private_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    default_crawl_interval_minutes: int = Field(default=30, ge=1)
    # A source failing without a success for this long is paused: polled once a day.
    source_pause_after_hours: float = Field(default=48.0, gt=0)
    # Who hears about failing and silent sources (either, both, or nobody).
    operator_email: str | None = None
    operator_webhook_url: str | None = None
    # Adaptive polling (crawler.polling): each source's interval follows its
    # publishing rate and its server's hints, within these bounds, with jitter.
    adaptive_polling: bool = True
    poll_min_minutes: int = Field(default=5, ge=1)
    poll_max_minutes: int = Field(default=24 * 60, ge=1)
    poll_jitter: float = Field(default=0.1, ge=0, le=0.5)
    # Sitemaps: only URLs modified or published within this many hours are followed.
    sitemap_window_hours: float = Field(default=48.0, gt=0)
    # Section pages and sitemaps: at most this many new article pages per source per crawl.
    max_new_links_per_source: int = Field(default=50, ge=1, le=1000)
    # A story starting an event looks this far back for the earlier event it develops
    # (crawler.events.followups); 0: no follow-up links are looked for.
    events_follow_lookback_days: int = Field(default=365, ge=0, le=3650)
    redis_url: str | None = None
    # Crawls are queued in Redis for long-running `wirewatch crawl-worker` processes
    # instead of each crawl starting crawler processes of its own.
    crawl_workers: bool = False
    # Stories are stored in batches: this many, or what arrived within this many seconds.
    store_batch_size: int = Field(default=20, ge=1, le=1000)
    store_batch_seconds: float = Field(default=0.2, ge=0, le=60)

    # Scheduler
    scheduler_tick_seconds: int = Field(default=60, ge=1)
    misfire_grace_seconds: int = Field(default=6 * 3600, ge=1)
    log_level: str = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            _SecretFileSource(settings_cls),
            _TomlFileSource(settings_cls),
        )

    @field_validator("allow_private_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("digest_chart", mode="before")
    @classmethod
    def _chart_frequencies(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        names = [part.strip().lower() for part in value.split(",") if part.strip()]
        if names in ([], ["off"], ["none"]):
            return "off"
        unknown = sorted(set(names) - set(DIGEST_FREQUENCIES))
        if unknown:
            raise ValueError(
                f"digest_chart={value!r}: {', '.join(unknown)} is not a digest frequency; "
                f"use some of {', '.join(DIGEST_FREQUENCIES)} (comma-separated) or off"
            )
        return ",".join(f for f in DIGEST_FREQUENCIES if f in names)

    def digest_chart_for(self, frequency: str) -> bool:
        """Whether digests of this frequency carry the stories-per-day chart."""
        return frequency in self.digest_chart.split(",")

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        try:
            return locale_codes.checked(value)
        except locale_codes.UnknownLocaleError as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError(
                f"unsupported database URL {value!r}: use sqlite:///PATH or postgresql+psycopg://..."
            )
        if value.startswith(("postgresql://", "postgres://")):
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @model_validator(mode="after")
    def _fill_derived(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'wirewatch.db'}"
        if self.outbox_dir is None:
            self.outbox_dir = self.data_dir / "outbox"
        if self.mail_transport == "sendgrid" and self.sendgrid_api_key is None:
            raise ValueError("mail_transport is 'sendgrid' but SENDGRID_API_KEY is not set")
        if self.crawl_workers and not self.redis_url:
            raise ValueError("crawl_workers is on but WIREWATCH_REDIS_URL is not set")
        if self.mail_transport == "smtp" and not self.smtp_url:
            raise ValueError("mail_transport is 'smtp' but SMTP_URL is not set")
        if self.poll_min_minutes > self.poll_max_minutes:
            raise ValueError(
                f"poll_min_minutes ({self.poll_min_minutes}) is above poll_max_minutes "
                f"({self.poll_max_minutes}); set WIREWATCH_POLL_MIN_MINUTES lower"
            )
        return self

    @property
    def effective_mail_transport(self) -> Literal["outbox", "smtp", "sendgrid"]:
        """SendGrid when a key is set, else SMTP when a URL is set, else the outbox folder."""
        if self.mail_transport != "auto":
            return self.mail_transport
        if self.sendgrid_api_key is not None:
            return "sendgrid"
        if self.smtp_url:
            return "smtp"
        return "outbox"

    def warnings(self) -> list[str]:
        """What is allowed but almost certainly wrong for a real deployment."""
        found = []
        domain = parseaddr(self.mail_from)[1].rpartition("@")[2].lower().rstrip(".")
        if domain == "localhost" or domain.endswith(".localhost"):
            found.append(
                f"the From address is {self.mail_from!r}, a .localhost address: mail servers "
                "refuse or junk it and SendGrid sends only from a verified sender; set "
                "WIREWATCH_MAIL_FROM to an address of your own domain"
            )
        return found

    def to_env(self) -> dict[str, str]:
        """These settings as environment variables, for child processes (crawls)."""
        env: dict[str, str] = {}
        aliases = {
            "sendgrid_api_key": "SENDGRID_API_KEY",
            "sendgrid_host": "SENDGRID_HOST",
            "smtp_url": "SMTP_URL",
        }
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if isinstance(value, list):
                text = ",".join(str(v) for v in value)
            elif isinstance(value, bool):
                text = "true" if value else "false"
            else:
                text = str(value)
            env[aliases.get(name, f"WIREWATCH_{name.upper()}")] = text
        return env

    def redacted(self) -> dict[str, Any]:
        """Every setting with secrets masked, for `wirewatch config show`."""
        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in GENERATED_SECRET_FILES and value is None:
                shown[name] = self._generated_secret(name)
            elif name == "metrics_token" and value is None:
                shown[name] = "unset: /metrics takes the admin token"
            elif name in SECRET_FIELDS or isinstance(value, SecretStr):
                shown[name] = "********" if value is not None else None
            elif name == "database_url" or (name == "smtp_url" and value):
                shown[name] = _redact_url(value)
            elif isinstance(value, Path):
                shown[name] = str(value)
            else:
                shown[name] = value
        return shown

    def generated_secret_path(self, name: str) -> Path:
        """Where the secret ``name`` is generated when its setting is unset."""
        return self.data_dir / GENERATED_SECRET_FILES[name]

    def _generated_secret(self, name: str) -> str:
        path = self.generated_secret_path(name)
        if path.exists():
            return f"******** (unset, so generated into {path}: read it there)"
        return f"unset: generated into {path} when first needed"


class _SecretFileSource(PydanticBaseSettingsSource):
    """``*_FILE`` variables: secrets read from files (container secrets)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return _secret_files_source()


def _redact_url(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:********@{host}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own `Settings(...)` instead."""
    try:
        return Settings()
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from exc
