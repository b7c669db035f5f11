"""Article extraction: fetched page bytes to clean text and metadata.

Public surface::

    extract_article(html, url=None, headers=None) -> ExtractionResult
    decode_html(raw, headers) -> (text, encoding)
    fix_mojibake(text) -> text

How the body is chosen and what was measured: docs/extraction.md.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crawler.extraction.encoding import decode_html
    from crawler.extraction.extract import extract_article
    from crawler.extraction.model import Article, ExtractionResult
    from crawler.extraction.mojibake import fix_mojibake

__all__ = ["Article", "ExtractionResult", "decode_html", "extract_article", "fix_mojibake"]

# Loaded on first use: the crawl process reads feeds and hands pages to its
# extraction workers, and has no use for the extractors (trafilatura and the
# rest take a noticeable share of its start-up) that importing this package
# for its encoding or result types would otherwise load.
_WHERE = {
    "Article": "crawler.extraction.model",
    "ExtractionResult": "crawler.extraction.model",
    "decode_html": "crawler.extraction.encoding",
    "extract_article": "crawler.extraction.extract",
    "fix_mojibake": "crawler.extraction.mojibake",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_WHERE[name]), name)
