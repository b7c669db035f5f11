"""Normalise: canonical URL, clean text, language, a publication time to sort by.

An entry the spider marks as already stored gets its canonical URL only: it is
touched, not compared, so cleaning its text or detecting its language is waste.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Self

from core.language import detect_language
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.items import SourceFetchItem, StoryItem
from crawler.text import normalise_whitespace
from crawler.urls import choose_canonical


class NormalizePipeline:
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls()

    def process_item(self, item: Any) -> Any:
        if isinstance(item, SourceFetchItem):
            return item
        if not isinstance(item, StoryItem):
            raise DropItem(f"unexpected item type {type(item).__name__}")
        if item.already_stored:
            # Stored and unchanged: only the key it is stored under is needed.
            item.canonical_url = choose_canonical(item.url, None, None)
            return item
        normalize_story(item)
        return item


def normalize_story(item: StoryItem) -> StoryItem:
    item.title = normalise_whitespace(item.title).replace("\n", " ")
    item.body = normalise_whitespace(item.body)
    item.summary = normalise_whitespace(item.summary)
    if not item.title and not item.body:
        raise DropItem(f"{item.url}: entry has neither a title nor any text")
    if not item.title:
        first_line = item.body.split("\n", 1)[0]
        item.title = first_line[:200]
    item.canonical_url = choose_canonical(item.url, item.link_canonical, item.og_url)
    if not item.language_detected:
        # A feed entry or a post: its text decides, the feed's or source's language is the hint.
        item.language = detect_language(f"{item.title}\n{item.body}", item.language)
    item.fetched_at = item.fetched_at or datetime.now(UTC)
    if item.published is None:
        item.published = item.fetched_at
        item.published_estimated = True
    return item
