"""Scale-out: several crawler processes share one Redis queue (scrapy-redis) and store each story once."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.errors import ConfigError
from core.settings import Settings
from crawler.runner import redis_key, settle, start_crawl
from db import queries
from db.models import CrawlStatus, Story
from db.session import make_engine, make_sessionmaker, unit_of_work
from wirewatch.demo_site.manifest import load_manifest
from wirewatch.demo_site.server import FixtureSite

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_workers_need_redis(tmp_path: Path, database_url: str) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    engine = make_engine(database_url)
    with pytest.raises(ConfigError, match="WIREWATCH_REDIS_URL"):
        start_crawl(settings, make_sessionmaker(engine), crawl_all=True, workers=2)
    engine.dispose()


def test_two_workers_share_the_queue(tmp_path: Path, database_url: str, redis_url: str) -> None:
    import redis

    manifest = load_manifest()
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        redis_url=redis_url,
        allow_private_hosts=["127.0.0.1"],
        # Slow enough, and few enough requests in flight per worker, that the
        # second worker has started before the first could drain the queue.
        download_delay=0.3,
        concurrent_requests=2,
    )
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    with FixtureSite() as site:
        with unit_of_work(factory) as session:
            for outlet in manifest.outlets:
                queries.upsert_source(
                    session=session, name=outlet.slug, url=outlet.feed_url(site.base_url)
                )
        handle = start_crawl(settings, factory, crawl_all=True, workers=2)
        assert len(handle.processes) == 2
        handle.wait(timeout=300)
        run = settle(factory, handle)
        fetched = Counter(path for method, path, status in site.request_log if method == "GET")
    assert run.status == CrawlStatus.SUCCEEDED, run.errors
    # every feed and every article page was downloaded once, by one worker or the other
    pages = {path: n for path, n in fetched.items() if not path.endswith("robots.txt")}
    assert pages and max(pages.values()) == 1, {p: n for p, n in pages.items() if n > 1}
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Story)) == len(
            list(manifest.stories())
        )
    engine.dispose()
    # both workers took part: each logged the items it scraped
    log = handle.log_path.read_text(encoding="utf-8", errors="replace")
    per_worker = [int(n) for n in re.findall(r"'item_scraped_count': (\d+)", log)]
    assert len(per_worker) == 2 and all(n > 0 for n in per_worker), per_worker
    client = redis.Redis.from_url(redis_url)
    assert not client.exists(redis_key(run.id, "requests"), redis_key(run.id, "dupefilter"))
    client.close()
