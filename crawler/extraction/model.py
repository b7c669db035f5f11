"""What extraction hands on: an article, or the reason there is none.

A failed extraction is a result that says why (``ok=False`` with ``error``),
never ``None``: callers log and store the reason next to the URL instead of
guessing what an empty value meant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Article:
    """One article page turned into text and metadata.

    ``body`` is plain text with paragraphs separated by blank lines. Dates are
    timezone-aware. ``method`` names the candidate the body came from
    ("trafilatura", "readability", "jsonld") or "combined" when the body was
    cut to where independent candidates agree.
    """

    title: str | None
    body: str
    description: str | None = None
    authors: list[str] = field(default_factory=list)
    published: datetime | None = None
    modified: datetime | None = None
    language: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    image_url: str | None = None
    method: str = "trafilatura"
    encoding: str | None = None


@dataclass(frozen=True)
class ExtractionResult:
    """Either ``article`` (``ok``) or ``error``: a message that names the cause."""

    ok: bool
    article: Article | None = None
    error: str | None = None
    # The page went over an extraction limit (size, time) or killed its worker:
    # worth reporting with the crawl, unlike a page that simply holds no article.
    over_limit: bool = False

    @classmethod
    def success(cls, article: Article) -> ExtractionResult:
        return cls(ok=True, article=article)

    @classmethod
    def failure(cls, error: str, *, over_limit: bool = False) -> ExtractionResult:
        return cls(ok=False, error=error, over_limit=over_limit)
