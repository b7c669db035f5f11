"""``scrapy crawl``, exiting non-zero when the crawl had to stop (see ``crawler.exitcodes``)."""

from __future__ import annotations

import argparse

from core.teardown import skip_teardown_collection
from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.crawler import Crawler
from scrapy.spiders import Spider

from crawler.exitcodes import EXIT_CODES


class Command(ScrapyCrawl):
    """Scrapy's ``crawl``; the exit code says when the spider closed for a fatal reason."""

    _launched: Crawler | None = None

    def _create_crawler(self, spidercls: type[Spider] | str) -> Crawler:
        self._launched = super()._create_crawler(spidercls)
        return self._launched

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        skip_teardown_collection()
        super().run(args, opts)
        if self._launched is not None and self._launched.stats is not None:
            reason = self._launched.stats.get_value("finish_reason")
            self.exitcode = EXIT_CODES.get(str(reason), self.exitcode)
