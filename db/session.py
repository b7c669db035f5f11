"""Engines and sessions, created on demand (never at import).

SQLite is tuned for several processes writing one file (crawler, scheduler,
web): WAL so readers never block the writer, a busy timeout so writers queue
instead of failing, and ``BEGIN IMMEDIATE`` so a transaction takes the write
lock up front rather than failing half-way with "database is locked" when it
upgrades from reading to writing.
"""

from __future__ import annotations

import errno
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Page cache per connection. SQLite's default (2 MiB) is a sliver of the band
# and search indexes once the archive holds a million stories: every random
# index insert then re-reads its pages from the OS. 64 MiB per connection
# keeps the hot inner pages in memory; it is allocated as pages are used.
SQLITE_CACHE_MIB = 64
# "database or disk is full" (SQLite's SQLITE_FULL) and PostgreSQL's disk_full class.
_SQLITE_FULL = 13
_POSTGRES_DISK_FULL = "53100"


# Every engine made here and still alive, for ``close_idle_connections`` at exit.
_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def make_engine(database_url: str, **kwargs: Any) -> Engine:
    """An engine for ``database_url`` with wirewatch's per-dialect settings applied."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **kwargs,
        )
        _tune_sqlite(engine)
        _engines.add(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    connect_args = dict(kwargs.pop("connect_args", {}))
    # psycopg prepares a statement after a few runs, and PostgreSQL may then
    # switch it to a generic plan that ignores the values: for a band lookup
    # or a tsquery (whose selectivity is all in the value) that plan can be a
    # sequential scan, seen at 25 ms instead of 0.5 ms. Plan with the values.
    connect_args.setdefault("options", "-c plan_cache_mode=force_custom_plan")
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    _engines.add(engine)
    return engine


def close_idle_connections() -> bool:
    """Close the pooled connections of every engine, when none is checked out; whether it did.

    For a process about to exit (``core.teardown``): a connection closed here is
    closed as the interpreter's teardown would have (SQLite checkpoints its WAL
    when the last connection closes). With one still in use, or a pool that cannot
    tell, nothing is closed and False says so.
    """
    engines = list(_engines)
    for engine in engines:
        checked_out = getattr(engine.pool, "checkedout", None)
        if checked_out is None or checked_out() != 0:
            return False
    for engine in engines:
        engine.dispose()
    return True


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_MIB * 1024}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_disk_full(exc: BaseException) -> bool:
    """Whether a database error means its disk is full: no retry will help.

    The error that reaches the caller may be a later one the full disk caused:
    SQLite ends the whole transaction on SQLITE_FULL, so rolling back to a
    savepoint then fails with "no such savepoint", raised while handling it.
    """
    return disk_full_error(exc) is not None


def disk_full_error(exc: BaseException) -> BaseException | None:
    """The full-disk error behind ``exc`` (itself, or what it was raised from or while
    handling), to quote to the user; None when the disk is not full."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_disk_full_error(current):
            return current
        current = current.__cause__ or current.__context__
    return None


def _is_disk_full_error(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF == _SQLITE_FULL:
        return True
    if getattr(orig, "sqlstate", None) == _POSTGRES_DISK_FULL:
        return True
    return isinstance(orig, OSError) and orig.errno == errno.ENOSPC


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session
