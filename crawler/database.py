"""The crawl process's one database engine.

The spider (sources at start, stored stories per feed), the store pipeline and
the crawl-run recorder share it: the first of them built for a crawler opens
it (in its ``from_crawler``), and it is disposed when the crawl's engine has
stopped, after every ``spider_closed`` handler has written what it had to.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from db.session import make_engine, make_sessionmaker
from scrapy import signals
from scrapy.crawler import Crawler
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

_OPEN: WeakKeyDictionary[Crawler, CrawlDatabase] = WeakKeyDictionary()


class CrawlDatabase:
    def __init__(self, database_url: str) -> None:
        self.engine: Engine = make_engine(database_url)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)

    @classmethod
    def of(cls, crawler: Crawler) -> CrawlDatabase:
        """The crawler's database, opened on first use (``WIREWATCH_DATABASE_URL``)."""
        database = _OPEN.get(crawler)
        if database is None:
            database = cls(crawler.settings.get("WIREWATCH_DATABASE_URL"))
            _OPEN[crawler] = database
            crawler.signals.connect(database.close, signal=signals.engine_stopped)
        return database

    def close(self) -> None:
        self.engine.dispose()
