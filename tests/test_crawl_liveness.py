"""A crawl run whose process is gone is told apart everywhere runs are read, scheduler or not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts import ledger
from core import process
from core.process import ProcessIdentity
from core.settings import Settings
from crawler.runner import Heartbeat
from db import queries
from db.models import CrawlRun, CrawlStatus, utcnow
from db.session import unit_of_work
from tests.conftest import ROOT
from web.app import create_app
from wirewatch.demo_site.manifest import load_manifest
from wirewatch.demo_site.server import FixtureSite

TOKEN = "t" * 32


def _run(factory: sessionmaker[Session], owner: ProcessIdentity, **values: object) -> int:
    with unit_of_work(factory) as session:
        run = queries.create_crawl_run(session=session, source_id=None, trigger="t", owner=owner)
        for name, value in values.items():
            setattr(run, name, value)
        return run.id


def test_a_killed_cli_crawl_is_not_running_for_any_reader(
    tmp_path: Path, database_url: str, session_factory: sessionmaker[Session]
) -> None:
    manifest = load_manifest()
    with FixtureSite() as site:
        with unit_of_work(session_factory) as session:
            for outlet in manifest.outlets:
                queries.upsert_source(
                    session=session, name=outlet.slug, url=outlet.feed_url(site.base_url)
                )
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "WIREWATCH_DATA_DIR": str(tmp_path),
            "WIREWATCH_DATABASE_URL": database_url,
            "WIREWATCH_ALLOW_PRIVATE_HOSTS": "127.0.0.1",
            "WIREWATCH_DOWNLOAD_DELAY": "5",  # slow: still crawling when killed
        }
        cli = subprocess.Popen(
            [sys.executable, "-m", "cli", "crawl", "--all"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            run_id = _wait_for_run(session_factory)
            with session_factory() as session:
                assert ledger.crawl_in_progress(session)  # alive: instant digests wait
            cli.send_signal(signal.SIGKILL)
            cli.wait(timeout=30)
            # no scheduler runs: the readers themselves see the owner is gone
            with session_factory() as session:
                assert not ledger.crawl_in_progress(session)
            settings = Settings(data_dir=tmp_path, database_url=database_url, admin_token=TOKEN)
            with TestClient(create_app(settings)) as client:
                answer = client.get(f"/api/crawls/{run_id}")
            assert answer.status_code == 200, answer.text
            assert answer.json()["status"] == "failed"
            with session_factory() as session:
                run = queries.get_crawl_run(session=session, run_id=run_id)
                assert run.status == CrawlStatus.FAILED
                assert "disappeared" in run.errors[-1]["error"]
        finally:
            os.killpg(cli.pid, signal.SIGKILL)  # the crawler child the killed CLI left behind
            cli.wait(timeout=30)


def _wait_for_run(factory: sessionmaker[Session]) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with factory() as session:
            run_id = session.scalar(select(CrawlRun.id).where(CrawlRun.trigger == "manual"))
        if run_id is not None:
            return run_id
        time.sleep(0.2)
    raise AssertionError("the CLI recorded no crawl run within 60 s")


def test_a_reused_pid_is_not_taken_for_the_owner(session_factory: sessionmaker[Session]) -> None:
    me = process.current()
    assert me.started, "this platform should tell process start times"
    impostor = ProcessIdentity(me.host, me.pid, started=me.started + "0")
    live = _run(session_factory, me)
    reused = _run(session_factory, impostor)
    with session_factory() as session:
        assert [run.id for run in queries.running_crawl_runs(session=session)] == [live]
    with unit_of_work(session_factory) as session:
        assert queries.reap_dead_crawl_runs(session=session) == [reused]
        assert queries.reap_dead_crawl_runs(session=session) == []  # once


def test_a_run_on_another_host_is_judged_by_its_heartbeat(
    session_factory: sessionmaker[Session],
) -> None:
    elsewhere = ProcessIdentity("crawler-7", 4242, "b:1")
    fresh = _run(session_factory, elsewhere)
    stale = _run(session_factory, elsewhere, heartbeat_at=utcnow() - timedelta(minutes=5))
    with unit_of_work(session_factory) as session:
        assert queries.reap_dead_crawl_runs(session=session) == [stale]
        assert queries.get_crawl_run(session=session, run_id=fresh).status == CrawlStatus.RUNNING


def test_the_owner_beats_while_its_crawl_runs(session_factory: sessionmaker[Session]) -> None:
    run_id = _run(
        session_factory,
        ProcessIdentity("crawler-7", 4242, "b:1"),
        heartbeat_at=utcnow() - timedelta(minutes=1),
    )
    beat = Heartbeat(session_factory, run_id, alive=lambda: True, interval=0.05).start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with session_factory() as session:
                run = queries.get_crawl_run(session=session, run_id=run_id)
                assert run.heartbeat_at is not None
                if utcnow() - run.heartbeat_at < timedelta(seconds=5):
                    break
            time.sleep(0.05)
        else:
            pytest.fail("no heartbeat recorded")
    finally:
        beat.stop()
