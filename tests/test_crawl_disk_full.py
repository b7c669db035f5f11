"""A full database disk stops the crawl at once: a clear error, a failed run, a failing CLI.

The disk is simulated in the crawl's own process: a ``sitecustomize`` module on
the child's PYTHONPATH caps every SQLite database it opens with ``PRAGMA
max_page_count``, a few pages above what the database already holds, so
SQLite answers "database or disk is full" as it does on a full disk; the test
process itself (setup, the runner's settle) writes without the cap. Before the
fix the store pipeline retried every item for seconds, said nothing, and the
crawl went on to the end.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from cli import _register_commands, app
from cli.common import reset_context
from cli.context import AppContext
from core.settings import Settings
from db import queries
from db.migrate import upgrade
from db.models import CrawlRun, CrawlStatus
from db.session import is_disk_full, make_engine, make_sessionmaker, unit_of_work
from wirewatch.demo_site.manifest import load_manifest
from wirewatch.demo_site.server import FixtureSite

SITECUSTOMIZE = '''\
"""Test only: every SQLite database this process opens holds at most {pages} pages."""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _full_disk(dbapi_connection, _record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA max_page_count = {pages}")
'''
# Room for a few writes (the crawl run's counters, perhaps a story), not for a crawl.
SPARE_PAGES = 3


def _pages(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(connection.execute("PRAGMA page_count").fetchone()[0])
    finally:
        connection.close()


def _sqlite_full() -> sqlite3.OperationalError:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (x)")
    connection.execute("PRAGMA max_page_count = 2")
    try:
        connection.execute("INSERT INTO t VALUES (randomblob(100000))")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        connection.close()
    raise AssertionError("SQLite took 100 kB into two pages")


def test_a_full_disk_is_told_from_passing_faults() -> None:
    """SQLite's SQLITE_FULL, PostgreSQL's disk_full (53100) and ENOSPC; not a lock or a lost server."""
    full = [
        _sqlite_full(),
        psycopg.errors.DiskFull("could not extend file: No space left on device"),
        OSError(errno.ENOSPC, "No space left on device"),
    ]
    for exc in full:
        assert is_disk_full(exc), exc
        assert is_disk_full(OperationalError("INSERT", {}, exc)), exc
    passing = [
        sqlite3.OperationalError("database is locked"),
        psycopg.errors.AdminShutdown("terminating connection"),
        OSError(errno.ECONNREFUSED, "Connection refused"),
    ]
    for exc in passing:
        assert not is_disk_full(OperationalError("INSERT", {}, exc)), exc
    # SQLite ends the transaction on a full disk: the rollback to a savepoint then
    # fails too, and that later error is the one raised, with the full disk as context.
    later = OperationalError(
        "ROLLBACK TO SAVEPOINT", {}, sqlite3.OperationalError("no such savepoint")
    )
    later.__context__ = OperationalError("INSERT", {}, _sqlite_full())
    assert is_disk_full(later)


@pytest.mark.slow
def test_full_disk_stops_the_crawl_and_fails_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    database = data / "wirewatch.db"
    settings = Settings(
        data_dir=data,
        database_url=f"sqlite:///{database}",
        allow_private_hosts=["127.0.0.1"],
        download_delay=0,
    )
    upgrade(settings.database_url)
    manifest = load_manifest()
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    _register_commands()
    with FixtureSite() as site:
        with unit_of_work(factory) as session:
            for outlet in manifest.outlets:
                queries.upsert_source(
                    session=session, name=outlet.slug, url=outlet.feed_url(site.base_url)
                )
        engine.dispose()
        cap = tmp_path / "full-disk"
        cap.mkdir()
        pages = _pages(database) + SPARE_PAGES
        (cap / "sitecustomize.py").write_text(SITECUSTOMIZE.format(pages=pages))
        monkeypatch.setenv(
            "PYTHONPATH", os.pathsep.join(filter(None, [str(cap), os.environ.get("PYTHONPATH")]))
        )
        reset_context(AppContext(settings=settings))
        try:
            started = time.monotonic()
            result = CliRunner().invoke(app, ["crawl", "--all"])
            elapsed = time.monotonic() - started
        finally:
            reset_context(None)
        article_fetches = [p for m, p, s in site.request_log if m == "GET" and "/news/" in p]

    assert result.exit_code != 0, result.output
    assert "the database disk is full" in result.output
    with factory() as session:
        run = session.scalars(select(CrawlRun)).one()
    engine.dispose()
    assert run.status == CrawlStatus.FAILED, run.errors
    assert any("the database disk is full" in e["error"] for e in run.errors), run.errors
    log = next((data / "logs").glob("crawl-*.log")).read_text(encoding="utf-8")
    # Said clearly, and the crawl stopped at the first failed write instead of
    # retrying item after item: one write failed, the items in flight were let go.
    assert "ERROR: the database disk is full: database or disk is full" in log
    assert "'wirewatch/store_failed': 1," in log
    assert "'finish_reason': 'database_full'" in log
    assert len(article_fetches) < sum(len(o.stories) for o in manifest.outlets)
    assert elapsed < 60, f"the crawl went on for {elapsed:.0f} s after the disk filled"
