"""Normalise: canonical URL, clean text, language, a publication time to sort by.

Every field a source supplies is cut to the limits of ``core.limits`` here,
before anything is derived from it or stored.

An entry the spider marks as already stored gets its canonical URL only: it is
touched, not compared, so cleaning its text or detecting its language is waste.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Self

from core import limits
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
            return normalize_fetch(item)
        if not isinstance(item, StoryItem):
            raise DropItem(f"unexpected item type {type(item).__name__}")
        if item.already_stored:
            # Stored and unchanged: only the key it is stored under is needed.
            item.canonical_url = choose_canonical(item.url, None, None)
            return item
        normalize_story(item)
        return item


def normalize_story(item: StoryItem) -> StoryItem:
    if len(item.url) > limits.URL_CHARS:
        raise DropItem(
            f"{item.url[:200]}…: address longer than {limits.URL_CHARS} characters, not stored"
        )
    item.title = limits.clip(
        normalise_whitespace(item.title).replace("\n", " "), limits.TITLE_CHARS
    )
    item.body = limits.clip(normalise_whitespace(item.body), limits.BODY_CHARS)
    item.summary = limits.clip(normalise_whitespace(item.summary), limits.SUMMARY_CHARS)
    if not item.title and not item.body:
        raise DropItem(f"{item.url}: entry has neither a title nor any text")
    if not item.title:
        first_line = item.body.split("\n", 1)[0]
        item.title = limits.clip(first_line, 200)
    _limit_supplied_fields(item)
    item.canonical_url = choose_canonical(item.url, item.link_canonical, item.og_url)
    if not item.language_detected:
        # A feed entry or a post: its text decides, the feed's or source's language is the hint.
        item.language = detect_language(f"{item.title}\n{item.body}", item.language)
    item.fetched_at = item.fetched_at or datetime.now(UTC)
    if item.published is None:
        item.published = item.fetched_at
        item.published_estimated = True
    return item


def _limit_supplied_fields(item: StoryItem) -> None:
    """The source's other claims: names cut, addresses that cannot be cut dropped."""
    item.guid = limits.clip(item.guid, limits.GUID_CHARS) if item.guid else item.guid
    authors = [normalise_whitespace(author).replace("\n", " ") for author in item.authors]
    item.authors = limits.clip_list(
        [author for author in authors if author], each=limits.AUTHOR_CHARS, most=limits.MAX_AUTHORS
    )
    item.link_canonical = limits.fits(item.link_canonical, limits.URL_CHARS)
    item.og_url = limits.fits(item.og_url, limits.URL_CHARS)
    item.links = [link for link in item.links if len(link) <= limits.URL_CHARS][: limits.MAX_LINKS]
    if item.extraction_method:
        item.extraction_method = limits.clip(item.extraction_method, 40)


def normalize_fetch(item: SourceFetchItem) -> SourceFetchItem:
    """A fetch outcome quotes the server (errors, validators): bounded like a story."""
    if item.error is not None:
        item.error = limits.clip(item.error, limits.ERROR_CHARS)
    if item.malformed is not None:
        item.malformed = limits.clip(item.malformed, limits.ERROR_CHARS)
    item.url = limits.clip(item.url, limits.URL_CHARS)
    item.etag = limits.fits(item.etag, limits.ETAG_CHARS)
    item.last_modified = limits.fits(item.last_modified, limits.LAST_MODIFIED_CHARS)
    return item
