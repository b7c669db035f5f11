"""Deduplicate, part one: the keys a story is known by.

The URL key and the content fingerprint are exact identities; the MinHash
signature finds copies and light rewrites. Computing them here, before the
storage transaction, keeps the database lock short. The decisions themselves
are made by the database (unique keys, band-hash lookups) in the store stage.
"""

from __future__ import annotations

from typing import Any, Self

from core import limits
from scrapy.crawler import Crawler

from crawler.dedup import content_fingerprint, signature_for
from crawler.events.signature import signature_of
from crawler.items import StoryItem
from crawler.urls import url_key


class DedupePipeline:
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls()

    def process_item(self, item: Any) -> Any:
        if isinstance(item, StoryItem):
            item.url_key = url_key(item.canonical_url)
            if item.already_stored:
                return item  # touched in bulk by the store stage: no signatures needed
            item.fingerprint = content_fingerprint(item.title, item.body)
            item.signature = signature_for(item.title, item.body)
            item.event_signature = signature_of(
                title=item.title,
                text=(item.body or item.summary)[: limits.SIGNATURE_TEXT_CHARS],
                lang=item.language,
                published=item.published or item.fetched_at,
                url=item.canonical_url or item.url,
                links=frozenset(item.links),
                source=item.source_name,
            )
        return item
