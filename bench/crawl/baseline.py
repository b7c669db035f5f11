"""The baseline crawl: plain Scrapy + feedparser + ``trafilatura.extract``, JSON lines out.

Run: ``python -m bench.crawl.baseline OUT.jsonl FEED_URL...``. What a minimal
crawler of the same feeds would do, with the same concurrency and per-host
delay as wirewatch's crawl in the benchmark; nothing is stored but the lines.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import feedparser
import scrapy
import trafilatura
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response


class BaselineSpider(scrapy.Spider):
    name = "baseline"

    def __init__(self, feeds: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_urls = feeds

    def parse(self, response: Response) -> Iterator[scrapy.Request]:
        for entry in feedparser.parse(response.body).entries:
            yield scrapy.Request(
                entry.link, callback=self.parse_article, cb_kwargs={"entry": entry}
            )

    def parse_article(self, response: Response, entry: Any) -> Iterator[dict[str, Any]]:
        yield {
            "url": response.url,
            "title": entry.get("title", ""),
            "body": trafilatura.extract(response.text) or entry.get("summary", ""),
        }


def main(argv: list[str]) -> int:
    out, feeds = argv[0], argv[1:]
    process = CrawlerProcess(
        {
            "FEEDS": {out: {"format": "jsonlines", "encoding": "utf-8"}},
            "LOG_LEVEL": "WARNING",
            "ROBOTSTXT_OBEY": False,
            "CONCURRENT_REQUESTS": 16,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
            "DOWNLOAD_DELAY": 0.05,
            "TELNETCONSOLE_ENABLED": False,
            "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        }
    )
    process.crawl(BaselineSpider, feeds=feeds)
    process.start()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
