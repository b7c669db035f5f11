"""Long-running crawler workers (`wirewatch crawl-worker`) take queued crawls from Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.errors import ConfigError
from core.settings import Settings
from crawler.runner import settle, start_crawl
from crawler.worker import JOBS_KEY, QUEUE_KEY, run_key
from db import queries
from db.models import CrawlStatus, Story
from db.session import unit_of_work
from tests.conftest import ROOT
from wirewatch.demo_site.manifest import load_manifest
from wirewatch.demo_site.server import FixtureSite

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def worker_env(settings: Settings) -> dict[str, str]:
    return {**os.environ, **settings.to_env(), "PYTHONPATH": str(ROOT)}


@pytest.fixture
def clean_queue(redis_url: str) -> Iterator[None]:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.delete(JOBS_KEY, QUEUE_KEY)
    yield
    client.delete(JOBS_KEY, QUEUE_KEY)
    client.close()


def start_workers(settings: Settings, count: int, logs: Path) -> list[subprocess.Popen[bytes]]:
    workers = []
    for n in range(count):
        with (logs / f"worker-{n}.log").open("wb") as log:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "cli", "crawl-worker"],
                    env=worker_env(settings),
                    cwd=logs,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=30)


def test_workers_need_redis(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="WIREWATCH_REDIS_URL"):
        Settings(data_dir=tmp_path, crawl_workers=True)


def test_a_run_id_used_before_counts_only_its_own_jobs(redis_url: str, clean_queue: None) -> None:
    """Counts left under a run id (a queuer that died, a database recreated with its run
    ids starting again) are not added to the new run's: it would never reach zero."""
    import redis

    from crawler.worker import QueuedRun

    client = redis.Redis.from_url(redis_url)
    run_id = 1_000_001
    client.set(run_key(run_id, "pending"), 3)
    client.set(run_key(run_id, "done"), 8)
    queued = QueuedRun(redis_url, run_id)
    try:
        assert queued.enqueue([1, 2]) == 2
        assert queued.progress() == (2, 0)
    finally:
        queued.forget()
        client.close()


def test_idle_workers_crawl_each_queued_run_once_and_wait_for_the_next(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    session_factory: sessionmaker[Session],
    clean_queue: None,
) -> None:
    manifest = load_manifest()
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        redis_url=redis_url,
        crawl_workers=True,
        allow_private_hosts=["127.0.0.1"],
        download_delay=0.2,
        concurrent_requests=4,
    )
    with pytest.raises(ConfigError, match="crawl-worker"):
        start_crawl(settings, session_factory, crawl_all=True, workers=2)
    workers = start_workers(settings, 2, tmp_path)
    try:
        with FixtureSite() as site:
            with unit_of_work(session_factory) as session:
                for outlet in manifest.outlets:
                    queries.upsert_source(
                        session=session, name=outlet.slug, url=outlet.feed_url(site.base_url)
                    )
            handle = start_crawl(settings, session_factory, crawl_all=True)
            assert handle.processes == []  # the workers crawl, not a child of ours
            handle.wait(timeout=300)
            run = settle(session_factory, handle)
            fetched = Counter(path for method, path, _ in site.request_log if method == "GET")
            assert run.status == CrawlStatus.SUCCEEDED, run.errors
            assert run.sources_done == run.sources_total == len(manifest.outlets)
            stories = len(list(manifest.stories()))
            assert run.new == stories
            pages = {path: n for path, n in fetched.items() if not path.endswith("robots.txt")}
            assert pages and max(pages.values()) == 1, {p: n for p, n in pages.items() if n > 1}
            with session_factory() as session:
                assert session.scalar(select(func.count()).select_from(Story)) == stories

            # still there, idle: the next crawl needs no new process
            assert all(worker.poll() is None for worker in workers)
            again = start_crawl(settings, session_factory, crawl_all=True)
            again.wait(timeout=300)
            second = settle(session_factory, again)
            assert second.status == CrawlStatus.SUCCEEDED, second.errors
            assert second.sources_done == len(manifest.outlets) and second.new == 0
    finally:
        stop_workers(workers)
    import redis

    client = redis.Redis.from_url(redis_url)
    assert not client.exists(run_key(run.id, "pending"), JOBS_KEY, QUEUE_KEY)
    client.close()


def test_workers_crawl_sitemap_and_section_sources(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    session_factory: sessionmaker[Session],
    clean_queue: None,
) -> None:
    """The other source kinds' callbacks are followed by the run like a feed's."""
    from datetime import UTC, datetime

    from db.models import SourceKind
    from tests.servers.newsroom import newsroom
    from tests.source_kinds_site import build_section_site, build_sitemap_site

    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        redis_url=redis_url,
        crawl_workers=True,
        allow_private_hosts=["127.0.0.1"],
        download_delay=0.2,
    )
    workers = start_workers(settings, 1, tmp_path)
    try:
        with newsroom() as wire, newsroom() as ministry:
            now = datetime.now(UTC)
            expected = {**build_sitemap_site(wire, now), **build_section_site(ministry, now)}
            with unit_of_work(session_factory) as session:
                queries.upsert_source(
                    session=session, name="wire", url=wire.base_url + "/", kind=SourceKind.SITEMAP
                )
                queries.upsert_source(
                    session=session,
                    name="ministry",
                    url=ministry.base_url + "/press/",
                    kind=SourceKind.SECTION,
                )
            handle = start_crawl(settings, session_factory, crawl_all=True)
            handle.wait(timeout=300)
            run = settle(session_factory, handle)
        assert run.status == CrawlStatus.SUCCEEDED, run.errors
        assert run.sources_done == 2 and run.new == len(expected)
        with session_factory() as session:
            stored = {s.canonical_url for s in session.scalars(select(Story))}
        assert stored == set(expected)
    finally:
        stop_workers(workers)


def _rss(site_url: str, slug: str, full: int, summary_only: int = 0) -> str:
    """A feed of ``full`` full-text entries and ``summary_only`` whose pages are missing."""
    text = " ".join(f"Paragraph about the {slug} harbour, ferry route {{n}}." for _ in range(20))
    items = [
        f"<item><title>{slug} report {n} on ferry routes</title>"
        f"<link>{site_url}/{slug}/{n}</link><description>Summary {n}.</description>"
        f"<content:encoded>{text.format(n=n)}</content:encoded></item>"
        for n in range(full)
    ] + [
        f"<item><title>{slug} brief {n} on ferry routes</title>"
        f"<link>{site_url}/{slug}/gone/{n}</link><description>Brief {n}.</description></item>"
        for n in range(summary_only)
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{slug}</title>" + "".join(items) + "</channel></rss>"
    )


def test_a_worker_settles_runs_smaller_and_larger_than_a_store_batch(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    session_factory: sessionmaker[Session],
    clean_queue: None,
) -> None:
    """A run's outstanding work reaches zero whether its items fill a store batch or not.

    The first run has 4 items (a feed and 3 stories), fewer than a batch: they are
    stored when the batch's time window ends, with no further item arriving. The
    second has more than two batches, articles whose pages are missing and a feed
    that is missing: items made by errbacks are followed like the others.
    """
    import redis

    from tests.servers.newsroom import newsroom

    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        redis_url=redis_url,
        crawl_workers=True,
        allow_private_hosts=["127.0.0.1"],
        download_delay=0,
        store_batch_size=20,
    )
    client = redis.Redis.from_url(redis_url)
    workers = start_workers(settings, 1, tmp_path)
    try:
        with newsroom() as site:
            rss = "application/rss+xml"
            site.put("/small.xml", _rss(site.base_url, "small", 3), rss)
            site.put("/big.xml", _rss(site.base_url, "big", 45, summary_only=2), rss)
            with unit_of_work(session_factory) as session:
                queries.upsert_source(
                    session=session, name="small", url=site.base_url + "/small.xml"
                )
            first = start_crawl(settings, session_factory, crawl_all=True)
            first.wait(timeout=120)
            small = settle(session_factory, first)
            assert small.status == CrawlStatus.SUCCEEDED, small.errors
            assert (small.sources_done, small.new) == (1, 3)

            with unit_of_work(session_factory) as session:
                queries.upsert_source(session=session, name="big", url=site.base_url + "/big.xml")
                queries.upsert_source(session=session, name="gone", url=site.base_url + "/gone.xml")
            second = start_crawl(settings, session_factory, crawl_all=True)
            second.wait(timeout=120)
            pending = client.get(run_key(second.run_id, "pending"))
            big = settle(session_factory, second)
        assert int(pending or 0) == 0
        assert big.status == CrawlStatus.PARTIAL, big.errors
        assert (big.sources_done, big.sources_failed) == (3, 1)
        # 45 full-text stories and 2 kept with their feed summaries; the small feed's 3 known
        assert (big.new, big.duplicates) == (47, 3)
        with session_factory() as session:
            assert session.scalar(select(func.count()).select_from(Story)) == 50
    finally:
        stop_workers(workers)
        client.close()
