"""Story records for tests that seed the database directly (no tests here).

A ``StoryRecord`` has sixteen fields and most tests care about four or five
of them. These builders fill the rest with what a plain feed story has, so a
test shows only the values it depends on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from db import queries
from db.models import Story


def story_record(
    key: int | str,
    canonical_url: str,
    *,
    url: str | None = None,
    title: str = "Untitled story",
    body: str = "",
    summary: str = "",
    language: str | None = None,
    source_id: int | None = None,
    published_at: datetime | None = None,
    fetched_at: datetime | None = None,
    authors: Sequence[str] = (),
    guid: str | None = None,
    canonicalizer_version: int = 1,
    published_estimated: bool = False,
    extraction_method: str | None = "feed",
    fingerprint: str | None = None,
) -> queries.StoryRecord:
    """One sighting of a story, identified by ``key``.

    An int key gives ``url_key`` ``f"{key:064d}"`` and fingerprint ``f"{key:064x}"``,
    so stories numbered in a loop stay distinct. A str key is padded with zeros to
    the 64 characters of a real key (a full key passes through unchanged) and its
    fingerprint is a hash of it. ``url`` is the fetched address when it differs
    from the canonical one; ``fetched_at`` defaults to now.
    """
    if isinstance(key, int):
        url_key, derived_fingerprint = f"{key:064d}", f"{key:064x}"
    else:
        if len(key) > 64:
            raise ValueError(f"a url_key has 64 characters, not {len(key)}: {key!r}")
        url_key = key.ljust(64, "0")
        derived_fingerprint = hashlib.sha256(url_key.encode()).hexdigest()
    return queries.StoryRecord(
        url_key=url_key,
        canonical_url=canonical_url,
        url=url if url is not None else canonical_url,
        canonicalizer_version=canonicalizer_version,
        guid=guid,
        source_id=source_id,
        title=title,
        body=body,
        summary=summary,
        authors=list(authors),
        language=language,
        published_at=published_at,
        published_estimated=published_estimated,
        fetched_at=fetched_at if fetched_at is not None else datetime.now(UTC),
        fingerprint=fingerprint if fingerprint is not None else derived_fingerprint,
        extraction_method=extraction_method,
    )


def revision_of(
    story: Story, *, title: str, body: str, fetched_at: datetime | None = None
) -> queries.StoryRecord:
    """A later sighting of a stored story whose text changed, for ``record_new_version``.

    Address, source, language and date stay the story's own; the fingerprint is
    taken from the new text, so it differs from the stored one as a real change would.
    """
    return story_record(
        story.url_key,
        story.canonical_url,
        url=story.url,
        title=title,
        body=body,
        language=story.language,
        source_id=story.source_id,
        published_at=story.published_at,
        fetched_at=fetched_at,
        fingerprint=hashlib.sha256(f"{title}\n{body}".encode()).hexdigest(),
    )
