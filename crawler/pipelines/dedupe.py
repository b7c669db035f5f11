"""Deduplicate, part one: the keys a story is known by.

The URL key and the content fingerprint are exact identities; the MinHash
signature finds copies and light rewrites. Computing them here, before the
storage transaction, keeps the database lock short. The decisions themselves
are made by the database (unique keys, band-hash lookups) in the store stage.

The event signature only groups a story with other reports. A text it cannot
read (a fault of ours, not of the story) costs the story its event, never its
place in the archive: the story is stored on its own and the fault logged and
counted (stat ``wirewatch/event_signature_failed``).
"""

from __future__ import annotations

import logging
from typing import Any, Self

from core import limits
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from crawler.dedup import signature_for
from crawler.events.signature import EventSignature, signature_of
from crawler.items import StoryItem
from crawler.urls import url_key

log = logging.getLogger(__name__)


class DedupePipeline:
    def __init__(self, stats: StatsCollector | None = None) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.stats)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, StoryItem):
            item.url_key = url_key(item.canonical_url)
            if item.already_stored:
                return item  # touched in bulk by the store stage: no signatures needed
            # The signature's fingerprint is ``content_fingerprint`` of the same text:
            # taken from it, the text is tokenised once, not twice.
            item.signature = signature_for(item.title, item.body)
            item.fingerprint = item.signature.fingerprint
            item.event_signature = self._event_signature(item)
        return item

    def _event_signature(self, item: StoryItem) -> EventSignature | None:
        try:
            return signature_of(
                title=item.title,
                text=(item.body or item.summary)[: limits.SIGNATURE_TEXT_CHARS],
                lang=item.language,
                published=item.published or item.fetched_at,
                url=item.canonical_url or item.url,
                links=frozenset(item.links),
                source=item.source_name,
                publication_known=item.published is not None and not item.published_estimated,
            )
        except Exception:  # any fault here: store the story without an event
            log.exception("%s: no event signature; stored without an event", item.url)
            if self.stats is not None:
                self.stats.inc_value("wirewatch/event_signature_failed")
            return None
