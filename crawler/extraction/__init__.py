"""Article extraction: fetched page bytes to clean text and metadata.

Public surface::

    extract_article(html, url=None, headers=None) -> ExtractionResult
    decode_html(raw, headers) -> (text, encoding)
    fix_mojibake(text) -> text

How the body is chosen and what was measured: docs/extraction.md.
"""

from crawler.extraction.encoding import decode_html
from crawler.extraction.extract import extract_article
from crawler.extraction.model import Article, ExtractionResult
from crawler.extraction.mojibake import fix_mojibake

__all__ = ["Article", "ExtractionResult", "decode_html", "extract_article", "fix_mojibake"]
