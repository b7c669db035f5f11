"""What spiders yield. Feed readers and article pages fill the same story item,
so one pipeline chain serves both."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from crawler.polling import PollHints

if TYPE_CHECKING:
    from crawler.feeds import FeedEntry


@dataclass
class StoryItem:
    """One sighting of a story: a feed entry, possibly completed from its article page."""

    url: str
    source_id: int | None
    source_name: str
    title: str = ""
    body: str = ""
    summary: str = ""
    guid: str | None = None
    authors: list[str] = field(default_factory=list)
    language: str | None = None
    # Extraction read ``language`` from the article page's text: normalising keeps it.
    language_detected: bool = False
    published: datetime | None = None
    published_estimated: bool = False
    fetched_at: datetime | None = None
    # Canonical-URL claims from the article page (rel=canonical, og:url).
    link_canonical: str | None = None
    og_url: str | None = None
    extraction_method: str | None = None
    # Filled by the pipelines.
    canonical_url: str = ""
    url_key: str = ""
    fingerprint: str = ""
    story_id: int | None = None
    store_status: str = ""
    # Near-duplicate and event signatures, computed before the storage transaction opens.
    signature: Any = None
    event_signature: Any = None
    # Addresses the story links to (a Telegram post's article), for event placement.
    links: list[str] = field(default_factory=list)
    # The feed shows this stored story unchanged: count the sighting, compare nothing.
    already_stored: bool = False
    # Found through a search feed: the store pipeline files it under the outlet
    # whose page it is (the host of ``url``, the page's address after redirects).
    via_search: bool = False
    # The crawl run it counts toward, when one spider serves several (crawl
    # workers); None: the spider's own run.
    run_id: int | None = None

    @classmethod
    def from_entry(
        cls,
        entry: FeedEntry,
        *,
        source_id: int | None,
        source_name: str,
        language: str | None,
        fetched_at: datetime,
        full_text: bool,
        via_search: bool = False,
    ) -> StoryItem:
        """The item for a feed entry; ``full_text``: the entry's text is the whole story."""
        return cls(
            url=entry.link,
            source_id=source_id,
            source_name=source_name,
            title=entry.title,
            body=entry.content or entry.summary,
            summary=entry.summary,
            guid=entry.guid,
            authors=entry.authors,
            language=language,
            published=entry.published,
            fetched_at=fetched_at,
            extraction_method="feed" if full_text else "feed-summary",
            # A Telegram post's outbound article links: its event placement ties it to them.
            links=list(getattr(entry, "links", ())),
            via_search=via_search,
        )


@dataclass
class SourceFetchItem:
    """The outcome of fetching one source's feed: health and conditional-GET state."""

    source_id: int
    source_name: str
    url: str
    status: int | None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    entries: int = 0
    malformed: str | None = None
    # What the response said about when to come back (crawler.polling), and the
    # published times of the entries it listed (the source's rate, before its
    # new stories are stored).
    hints: PollHints = field(default_factory=PollHints)
    published: list[datetime] = field(default_factory=list)
    # As StoryItem.run_id.
    run_id: int | None = None
