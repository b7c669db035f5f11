"""The scheduler: one active instance per database, jobs declared in code, and it drives the flow."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from db import queries
from db.models import Delivery, DeliveryStatus, Digest, Frequency, TopicMatch
from db.session import make_engine, unit_of_work
from scheduler.lease import current_holder, release, try_acquire
from scheduler.service import JOBS, build_scheduler
from tests.conftest import ROOT
from wirewatch.bootstrap import load_topics
from wirewatch.demo_site.manifest import load_manifest
from wirewatch.demo_site.server import FixtureSite

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=30)


def test_only_one_scheduler_holds_the_lease(session_factory: sessionmaker[Session]) -> None:
    assert try_acquire(session_factory, "a", now=T0, ttl=TTL)
    assert not try_acquire(session_factory, "b", now=T0 + timedelta(seconds=5), ttl=TTL)
    assert try_acquire(session_factory, "a", now=T0 + timedelta(seconds=20), ttl=TTL)  # renewal
    # a stops renewing: b takes over once the lease has run out
    assert try_acquire(session_factory, "b", now=T0 + timedelta(seconds=51), ttl=TTL)
    assert not try_acquire(session_factory, "a", now=T0 + timedelta(seconds=52), ttl=TTL)
    holder = current_holder(session_factory)
    assert holder is not None and holder[0] == "b"
    release(session_factory, "b")
    assert current_holder(session_factory) is None


def test_jobs_are_declared_with_fixed_ids_and_survive_a_restart(
    tmp_path: Path, database_url: str
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url, scheduler_tick_seconds=5)
    for _ in range(2):  # a restart re-declares the same jobs instead of failing or duplicating
        scheduler = build_scheduler(settings, BackgroundScheduler)
        scheduler.start(paused=True)
        jobs = {job.id: job for job in scheduler.get_jobs()}
        scheduler.shutdown(wait=False)
        assert set(jobs) == {job_id for job_id, _ in JOBS}
    for job in jobs.values():
        assert job.misfire_grace_time == settings.misfire_grace_seconds
        assert job.coalesce is True and job.max_instances == 1


def test_jobs_run_with_the_settings_the_scheduler_was_built_with(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scheduler import jobs

    monkeypatch.setenv("WIREWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    settings = Settings(data_dir=tmp_path, database_url=database_url, scheduler_tick_seconds=5)
    try:
        scheduler = build_scheduler(settings, BackgroundScheduler)
        scheduler.start(paused=True)
        scheduler.shutdown(wait=False)
        assert jobs.holds_lease()
        assert str(jobs._factory().kw["bind"].url) == str(make_engine(database_url).url)
        assert not (tmp_path / "elsewhere.db").exists()
    finally:
        release(jobs._factory(), jobs.HOLDER)
        jobs.configure(None)


@pytest.fixture
def site() -> Iterator[FixtureSite]:
    with FixtureSite() as running:
        yield running


@pytest.mark.slow
def test_scheduler_process_crawls_and_sends_on_its_own(
    site: FixtureSite, tmp_path: Path, database_url: str, session_factory: sessionmaker[Session]
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        outbox_dir=tmp_path / "outbox",
        mail_transport="outbox",
        allow_private_hosts=["127.0.0.1"],
        scheduler_tick_seconds=1,
        download_delay=0,
    )
    manifest = load_manifest()
    with unit_of_work(session_factory) as session:
        load_topics(session, settings.topics_file)
        for outlet in manifest.outlets:
            queries.upsert_source(
                session=session, name=outlet.slug, url=outlet.feed_url(site.base_url)
            )
        topic = queries.get_topic(session=session, slug="police-liaison-migration")
        queries.subscribe(
            session=session,
            email="desk@newsroom.example",
            topic=topic,
            frequency=Frequency.INSTANT,
            token="tok",
            confirmed=True,
        )
    env = {**os.environ, **settings.to_env()}
    first = subprocess.Popen(
        [sys.executable, "-m", "cli", "scheduler"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    second = subprocess.Popen(
        [sys.executable, "-m", "cli", "scheduler"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        outbox = settings.outbox_dir
        assert outbox is not None
        while time.monotonic() < deadline and not list(outbox.glob("*.eml")):
            time.sleep(0.5)
        time.sleep(3)  # a few more ticks: nothing may be sent twice
    finally:
        logs = []
        for process in (first, second):
            process.send_signal(signal.SIGTERM)
            out, _ = process.communicate(timeout=30)
            logs.append(out.decode("utf-8", "replace"))
    assert any("staying passive" in log for log in logs), logs
    emails = list(outbox.glob("*.eml"))
    with session_factory() as session:
        runs = queries.recent_crawl_runs(session=session)
        assert runs and runs[-1].new == len(list(manifest.stories()))
        # Instant digests may go out in several batches while the crawl is
        # storing, but each message is one digest and each story goes once.
        digests = session.scalars(select(Digest).where(Digest.status == DeliveryStatus.SENT)).all()
        assert len(digests) == len(emails) >= 1
        matched = session.scalar(select(func.count()).select_from(TopicMatch))
        delivered = session.scalars(select(Delivery.story_id)).all()
    assert len(delivered) == len(set(delivered)) == matched


def test_schedulers_starting_together_both_get_the_job_store(database_url: str) -> None:
    """Concurrent CREATE TABLEs of APScheduler's table must not kill the losing scheduler."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from sqlalchemy import inspect

    from db.session import make_engine
    from scheduler.service import JOBSTORE_TABLE, _create_jobstore_table

    stores = [
        SQLAlchemyJobStore(engine=make_engine(database_url), tablename=JOBSTORE_TABLE)
        for _ in range(4)
    ]
    errors: list[BaseException] = []

    def create(store: SQLAlchemyJobStore) -> None:
        try:
            _create_jobstore_table(store)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert inspect(stores[0].engine).has_table(JOBSTORE_TABLE)
    for store in stores:
        store.engine.dispose()
