"""Match topics: new stories and new versions are checked against every topic at once.

The matcher itself lives with the alerts (it decides who gets told); this
stage only runs it as soon as a story is stored, so an instant digest can go
out minutes later. Stories the stage misses (a crash between store and match)
are picked up by the scheduler's matching sweep.
"""

from __future__ import annotations

from typing import Any, Self

from scrapy import Spider
from scrapy.crawler import Crawler
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from alerts.matching import TopicMatcher
from crawler.items import StoryItem
from db.models import Story
from db.session import make_engine, make_sessionmaker, unit_of_work


class MatchTopicsPipeline:
    def __init__(self, database_url: str, crawler: Crawler) -> None:
        self.database_url = database_url
        self.crawler = crawler
        self.engine: Engine | None = None
        self.factory: sessionmaker[Session] | None = None
        self.matcher: TopicMatcher | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.settings.get("WIREWATCH_DATABASE_URL"), crawler)

    def open_spider(self, spider: Spider | None = None) -> None:
        self.engine = make_engine(self.database_url)
        self.factory = make_sessionmaker(self.engine)
        with self.factory() as session:
            self.matcher = TopicMatcher.load(session)

    def close_spider(self, spider: Spider | None = None) -> None:
        if self.engine is not None:
            self.engine.dispose()

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, StoryItem) or item.store_status not in ("new", "updated"):
            return item
        assert self.factory is not None and self.matcher is not None
        with unit_of_work(self.factory) as session:
            story = session.get(Story, item.story_id)
            if story is not None:
                matched = self.matcher.match_story(session, story)
                self.crawler.stats.inc_value("wirewatch/topic_matches", len(matched))
        return item
