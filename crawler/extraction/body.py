"""The article body: candidates from independent extractors, cut to where they agree.

Measured on the shared benchmark (docs/extraction.md): trafilatura with
``favor_precision`` is the strongest single candidate, and what it gets wrong
is mostly extra text at the edges (related links, sign-up boxes, comment
threads, a repeated headline). A second, independently designed extractor
(the readability algorithm) rarely agrees with those edge blocks, so leading
and trailing paragraphs of the main candidate that the reference does not
contain are dropped, provided the two agree on most of the text; when they
disagree, the reference is too unreliable to cut with. JSON-LD ``articleBody``
is often truncated, so it only serves as a last resort and as a tie-breaker
reference, never as the first choice.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import lxml.etree
import lxml.html
import trafilatura
from lxml.html import HtmlElement
from trafilatura.readability_lxml import Document as ReadabilityDocument

from crawler.extraction.boilerplate import clean_paragraphs
from crawler.extraction.text import normalized, split_paragraphs, words

log = logging.getLogger(__name__)

MIN_AGREEMENT = 0.6
MIN_KEPT_SHARE = 0.5
MIN_CONTAINED_WORDS = 8
MIN_BODY_WORDS = 15
_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td", "dd", "dt")
_CONTAINERS = frozenset({"p", "div", "ul", "ol", "table", "section", "article", "blockquote"})


@dataclass(frozen=True)
class Body:
    paragraphs: list[str]
    method: str

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def trafilatura_paragraphs(tree: HtmlElement, url: str | None) -> list[str]:
    try:
        text = trafilatura.extract(
            tree, url=url, favor_precision=True, include_comments=True, include_tables=True
        )
    except (ValueError, TypeError, AttributeError, RecursionError, lxml.etree.LxmlError) as exc:
        # One candidate failing on odd markup must not lose the page; the others remain.
        log.warning("trafilatura failed on %s: %r", url or "page", exc)
        return []
    return split_paragraphs(text or "")


def readability_paragraphs(tree: HtmlElement) -> list[str]:
    """Paragraphs of the readability candidate (trafilatura's maintained fork of readability-lxml)."""
    try:
        summary = ReadabilityDocument(copy.deepcopy(tree), min_text_length=25).summary()
    except (ValueError, TypeError, AttributeError, RecursionError, lxml.etree.LxmlError) as exc:
        log.warning("readability failed: %r", exc)
        return []
    if not summary.strip():
        return []
    doc = lxml.html.fromstring(summary)
    paragraphs: list[str] = []
    for el in doc.iter("div", *_BLOCKS):
        if el.tag == "div" and any(child.tag in _CONTAINERS for child in el):
            continue
        if el.tag in ("li", "td", "dd") and any(child.tag == "p" for child in el):
            continue
        text = " ".join(el.text_content().split())
        if text:
            paragraphs.append(text)
    return paragraphs


class Reference:
    """Text of independent candidates, for containment tests of single paragraphs.

    ``summaries`` (the page's description) confirm a paragraph that contains
    them: a lead paragraph often is the description plus a dateline.
    """

    def __init__(self, paragraphs: list[str], summaries: Iterable[str] = ()) -> None:
        self.text = " ".join(normalized(p) for p in paragraphs)
        self.vocabulary = frozenset(self.text.split())
        self.summaries = [n for n in map(normalized, summaries) if len(n.split()) >= 6]

    def __bool__(self) -> bool:
        return bool(self.text)

    def contains(self, paragraph: str) -> bool:
        norm = normalized(paragraph)
        if not norm or norm in self.text or any(s in norm for s in self.summaries):
            return True
        tokens = norm.split()
        # Same words with different inline markup (e.g. link text glued to a word).
        return (
            len(tokens) >= MIN_CONTAINED_WORDS
            and sum(t in self.vocabulary for t in tokens) / len(tokens) >= 0.9
        )


def agreement(paragraphs: list[str], reference: Reference) -> float:
    """Share of the candidate's words that sit in paragraphs the reference also has."""
    total = sum(len(words(p)) for p in paragraphs)
    if not total or not reference:
        return 0.0
    return sum(len(words(p)) for p in paragraphs if reference.contains(p)) / total


def trim_edges(paragraphs: list[str], reference: Reference) -> list[str]:
    """Drop leading/trailing paragraphs the reference lacks, when the two mostly agree."""
    if agreement(paragraphs, reference) < MIN_AGREEMENT:
        return paragraphs
    flags = [reference.contains(p) for p in paragraphs]
    start, end = 0, len(paragraphs)
    while start < end and not flags[start]:
        start += 1
    while end > start and not flags[end - 1]:
        end -= 1
    kept = paragraphs[start:end]
    kept_words = sum(len(words(p)) for p in kept)
    if kept_words < MIN_KEPT_SHARE * sum(len(words(p)) for p in paragraphs):
        return paragraphs
    return kept


def drop_title(paragraphs: list[str], titles: list[str]) -> list[str]:
    """The headline repeated as the first line is metadata, not body."""
    norms = {normalized(t) for t in titles if t}
    while paragraphs and normalized(paragraphs[0]) in norms:
        paragraphs = paragraphs[1:]
    return paragraphs


def choose_body(
    main: list[str],
    reference: list[str],
    jsonld_body: str | None,
    titles: list[str],
    is_link_text: Callable[[str], bool],
    summaries: Iterable[str] = (),
) -> Body | None:
    """Combine the candidates; None when none of them holds an article-sized text."""
    ref = Reference([*reference, *split_paragraphs(jsonld_body or "")], summaries)
    if _word_count(main) >= MIN_BODY_WORDS:
        paragraphs = drop_title(main, titles)
        trimmed = trim_edges(paragraphs, ref)
        cleaned = clean_paragraphs(trimmed, is_link_text)
        method = "trafilatura" if cleaned == main else "combined"
        if _word_count(cleaned) >= MIN_BODY_WORDS:
            return Body(cleaned, method)
    for method, paragraphs in (
        ("readability", reference),
        ("jsonld", split_paragraphs(jsonld_body or "")),
    ):
        cleaned = clean_paragraphs(drop_title(paragraphs, titles), is_link_text)
        if _word_count(cleaned) >= MIN_BODY_WORDS:
            return Body(cleaned, method)
    return None


def _word_count(paragraphs: list[str]) -> int:
    return sum(len(words(p)) for p in paragraphs)
