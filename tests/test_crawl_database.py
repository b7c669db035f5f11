"""A crawl process opens one database engine, and the runner chooses the sources once.

The spider used to create and dispose an engine for every feed it parsed (to
read which entries were already stored) and chose the sources again after
the runner had; now the spider, the store pipeline and the crawl-run recorder
share one engine, disposed when the crawl engine stops, and every worker
crawls the sources the runner chose.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request, signals
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler
from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from crawler import runner
from crawler.extensions import CrawlRunRecorder
from crawler.items import SourceFetchItem, StoryItem
from crawler.pipelines.store import StorePipeline
from crawler.spiders.feeds import FeedSpider
from db import queries
from db.session import unit_of_work

RSS = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{name}</title>
<item><title>Story one of {name}</title><link>https://{name}.example/1</link>
<description>The first story.</description></item>
<item><title>Story two of {name}</title><link>https://{name}.example/2</link>
<description>The second story.</description></item>
</channel></rss>"""


def _sources(factory: sessionmaker[Session], names: list[str]) -> list[int]:
    with unit_of_work(factory) as session:
        return [
            queries.upsert_source(session=session, name=n, url=f"https://{n}.example/rss")[0].id
            for n in names
        ]


def test_one_engine_for_the_spider_pipeline_and_recorder(
    database_url: str,
    session_factory: sessionmaker[Session],
    request: pytest.FixtureRequest,
) -> None:
    ids = _sources(session_factory, ["alpha", "beta", "gamma"])
    used: set[Engine] = set()

    def connected(connection: Connection) -> None:
        used.add(connection.engine)

    event.listen(Engine, "engine_connect", connected)
    request.addfinalizer(lambda: event.remove(Engine, "engine_connect", connected))
    scrapy_crawler = get_crawler(
        FeedSpider,
        {"WIREWATCH_DATABASE_URL": database_url, "WIREWATCH_FOLLOW_ARTICLE_LINKS": False},
    )
    spider = FeedSpider.from_crawler(scrapy_crawler, source_ids=",".join(map(str, ids[:2])))
    StorePipeline.from_crawler(scrapy_crawler)
    CrawlRunRecorder.from_crawler(scrapy_crawler)
    refs = spider._load_sources()
    assert [ref.name for ref in refs] == ["alpha", "beta"]  # the runner's choice, not all three
    stories = 0
    for ref in refs:
        response = TextResponse(
            ref.url,
            body=RSS.format(name=ref.name).encode(),
            headers={"Content-Type": "application/rss+xml"},
            request=Request(ref.url, meta={"source": ref}),
        )
        for out in spider.parse_feed(response):
            assert isinstance(out, SourceFetchItem | StoryItem)
            stories += isinstance(out, StoryItem)
    assert stories == 4
    assert used == {spider.database.engine}
    pool = spider.database.engine.pool
    scrapy_crawler.signals.send_catch_log(signal=signals.engine_stopped)
    assert spider.database.engine.pool is not pool  # disposed when the crawl engine stopped


def test_the_runner_chooses_the_sources_once_for_every_worker(
    tmp_path: Path,
    database_url: str,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = _sources(session_factory, ["alpha", "beta", "gamma"])
    started: list[list[str]] = []

    class Popen:
        def __init__(self, args: list[str], **kwargs: Any) -> None:
            started.append(args)

    monkeypatch.setattr(subprocess, "Popen", Popen)
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    runner.start_crawl(settings, session_factory, source_names=["gamma", "alpha"])
    runner.start_crawl(settings, session_factory, crawl_all=True)
    with unit_of_work(session_factory) as session:
        now = datetime.now(UTC)
        queries.record_source_fetch(session=session, source_id=ids[1], when=now, error=None)
    runner.start_crawl(settings, session_factory)  # the due ones: beta was just crawled
    chosen = [_argument(args, "source_ids") for args in started]
    assert chosen == [f"{ids[2]},{ids[0]}", ",".join(map(str, ids)), f"{ids[0]},{ids[2]}"]
    assert all(_argument(args, "source") is None for args in started)

    spider = FeedSpider.from_crawler(
        get_crawler(FeedSpider, {"WIREWATCH_DATABASE_URL": database_url}), source_ids=""
    )
    assert spider._load_sources() == []  # nothing due: the workers crawl nothing


def _argument(args: list[str], name: str) -> str | None:
    values = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "-a"]
    found = [v.split("=", 1)[1] for v in values if v.split("=", 1)[0] == name]
    return found[0] if found else None
