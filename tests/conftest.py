"""Shared fixtures: real databases (SQLite and PostgreSQL), a clean environment.

PostgreSQL tests use ``WIREWATCH_TEST_POSTGRES_URL`` (default: the local server
on 127.0.0.1:5432, database ``test``). When no server answers they skip with
the reason, except when ``WIREWATCH_REQUIRE_SERVICES=1`` (set by ``.ci/run``),
where a missing server fails the run instead of hiding tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from db.migrate import upgrade
from db.session import make_engine, make_sessionmaker

pytest_plugins = ["tests.servers.sendgrid_stub", "tests.servers.smtp", "tests.skip_summary"]

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPORA = SHARED / "corpora"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"


def services_required() -> bool:
    return os.environ.get("WIREWATCH_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> None:
    if services_required():
        pytest.fail(f"{reason} (mandatory because WIREWATCH_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def corpus(*parts: str) -> Path:
    """A path in ../shared/corpora, or skip when the corpora are not beside the checkout."""
    path = CORPORA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared corpus {'/'.join(parts)} not found beside the checkout")
    return path


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's own wirewatch or mail settings."""
    for name in list(os.environ):
        if name.startswith("WIREWATCH_") and name not in (
            "WIREWATCH_TEST_POSTGRES_URL",
            "WIREWATCH_TEST_REDIS_URL",
            "WIREWATCH_REQUIRE_SERVICES",
            "WIREWATCH_REQUIRE_BROWSER",
        ):
            monkeypatch.delenv(name)
    for name in ("SENDGRID_API_KEY", "SENDGRID_HOST", "SMTP_URL", "SENDGRID_API_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)


def _postgres_admin_url() -> str:
    return os.environ.get("WIREWATCH_TEST_POSTGRES_URL", DEFAULT_PG)


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    url = _postgres_admin_url()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server here"
        skip_or_fail(f"PostgreSQL not reachable at {url}: {type(exc).__name__}")
    finally:
        engine.dispose()
    return url


def _fresh_postgres_database(server_url: str) -> tuple[str, str]:
    name = f"ww_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}", name


def _drop_postgres_database(server_url: str, name: str) -> None:
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database on each engine wirewatch supports."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'wirewatch.db'}"
        upgrade(url)
        yield url
        return
    server_url = request.getfixturevalue("postgres_server_url")
    url, name = _fresh_postgres_database(server_url)
    try:
        upgrade(url)
        yield url
    finally:
        _drop_postgres_database(server_url, name)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("WIREWATCH_TEST_REDIS_URL", DEFAULT_REDIS)
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server here"
        skip_or_fail(f"Redis not reachable at {url}: {type(exc).__name__}")
    return url
