"""The article body: candidates from independent extractors, combined by one configuration.

Two steps, kept apart so the benchmark can judge each choice on pages it was
not chosen on (bench/extraction/cv.py, docs/extraction.md):

1. :class:`Evidence` runs the extractors a configuration reads, each at most
   once: trafilatura in one or more modes, the readability algorithm (a
   second, independently designed extractor), plus what the page states about
   itself (JSON-LD ``articleBody``, the description, the headline),
   per-block link density and the texts of the page's links.
2. :func:`choose_body` combines them under a :class:`BodyConfig`.

``DEFAULT_CONFIG`` (measured in docs/extraction.md and by
bench/extraction/passes.py): the main text is trafilatura's balanced output
without its internal fallback comparison; runs of three or more blocks that
are mostly link text (a related-news list or a menu inside the article
markup) are dropped wherever they stand; its edges are cut to where
readability agrees; the headline line (looked for before and again after
the list rule and the trim, which can uncover it) and two rule groups of
boilerplate lines are dropped. The link-list rule replaced a second trafilatura run in
favor_precision mode ("vote"), which did the same job on such pages at a third
of the extraction time and raised held-out F1 nowhere.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import groupby

import lxml.etree
import lxml.html
import trafilatura
from lxml.html import HtmlElement
from trafilatura.readability_lxml import Document as ReadabilityDocument

from crawler.extraction.boilerplate import ALL_RULES, clean_paragraphs
from crawler.extraction.head import drop_head
from crawler.extraction.links import Anchors
from crawler.extraction.text import normalized, split_paragraphs, words

log = logging.getLogger(__name__)

MIN_CONTAINED_WORDS = 8
MIN_BODY_WORDS = 15
JSONLD_MIN_CONFIRMED = 0.95
_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td", "dd", "dt")
_CONTAINERS = frozenset({"p", "div", "ul", "ol", "table", "section", "article", "blockquote"})
_DENSITY_BLOCKS = ("p", "li", "h2", "h3", "h4", "h5", "h6", "td", "dd", "dt", "blockquote")


@dataclass(frozen=True)
class BodyConfig:
    """Every choice the body step makes.

    ``mode``/``compare``: the main candidate — trafilatura's "precision" or
    "balanced" output, or "vote" (balanced paragraphs that favor_precision or
    readability confirm) — and whether trafilatura runs its own
    readability/jusText comparison (``fast=False``).
    ``recall_guard``: with a precision-focused main candidate, take the
    balanced-mode text instead when it is at least this many times longer and
    the readability reference agrees with it (precision mode sometimes drops a
    whole section); ``None`` leaves the main candidate alone.
    ``trim``: cut leading/trailing paragraphs the reference lacks when at least
    ``min_agreement`` of the text agrees, never more than ``max_trim_share``.
    ``max_edge_link_density``: drop leading/trailing blocks whose text is mostly
    link text (``None``: off). ``max_link_density``: drop blocks anywhere in
    the text when more than this share of their words are the text of the
    page's links and ``link_run`` or more such blocks stand together
    (related-news lists and menus inside the article markup; ``None``: off).
    ``jsonld_min_share``: take the page's JSON-LD ``articleBody`` instead when
    it has at least this share of the chosen text's words and nearly all of it
    is confirmed by the extractors (the publisher's own text, complete);
    ``None``: never. ``rules``: boilerplate rule groups applied.
    ``drop_head``: drop the page's header lines above the first paragraph
    (breadcrumbs ending in the headline, the dateline, the byline, a view
    counter; ``crawler.extraction.head``).
    """

    mode: str = "balanced"
    compare: bool = False
    recall_guard: float | None = None
    drop_title: bool = True
    drop_head: bool = True
    trim: bool = True
    min_agreement: float = 0.6
    max_trim_share: float = 0.5
    max_edge_link_density: float | None = None
    max_link_density: float | None = 0.8
    link_run: int = 3
    jsonld_min_share: float | None = None
    rules: frozenset[str] = ALL_RULES

    @property
    def needs_reference(self) -> bool:
        return self.trim or self.recall_guard is not None or self.mode == "vote"


DEFAULT_CONFIG = BodyConfig()


@dataclass(frozen=True)
class Body:
    paragraphs: list[str]
    method: str

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def trafilatura_paragraphs(
    tree: HtmlElement, url: str | None, mode: str = "precision", compare: bool = True
) -> list[str]:
    try:
        text = trafilatura.extract(
            tree,
            url=url,
            fast=not compare,
            favor_precision=mode == "precision",
            favor_recall=mode == "recall",
            include_comments=True,
            include_tables=True,
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


class LinkDensity:
    """Per-block link density of a page, built on first use."""

    def __init__(self, tree: HtmlElement) -> None:
        self._tree = tree
        self._density: dict[str, float] | None = None

    def __call__(self, line: str) -> float:
        """Share of a block's words that are link text; 0 for text not found as a block."""
        if self._density is None:
            self._density = {}
            for el in self._tree.iter(*_DENSITY_BLOCKS):
                text = normalized(el.text_content())
                if not text or text in self._density:
                    continue
                linked = sum(len(normalized(a.text_content())) for a in el.iter("a"))
                self._density[text] = min(1.0, linked / len(text))
        return self._density.get(normalized(line), 0.0)


class Evidence:
    """What the extractors and the page say about one page; each extractor runs at most once.

    Extractors run on first use, so a configuration pays only for what it reads
    and the benchmark can try many configurations on one page for the price of
    one run of each extractor. The tree is never modified.
    """

    def __init__(
        self,
        tree: HtmlElement,
        url: str | None,
        *,
        jsonld_body: str | None = None,
        titles: Iterable[str] = (),
        summaries: Iterable[str] = (),
    ) -> None:
        self.tree = tree
        self.url = url
        self.jsonld_body = jsonld_body
        self.titles = [t for t in titles if t]
        self.summaries = list(summaries)
        self.link_density = LinkDensity(tree)
        self._anchors: Anchors | None = None
        self._runs: dict[tuple[str, bool], list[str]] = {}
        self._reference: list[str] | None = None

    def run(self, mode: str, compare: bool) -> list[str]:
        if (mode, compare) not in self._runs:
            self._runs[mode, compare] = trafilatura_paragraphs(self.tree, self.url, mode, compare)
        return self._runs[mode, compare]

    @property
    def reference(self) -> list[str]:
        if self._reference is None:
            self._reference = readability_paragraphs(self.tree)
        return self._reference

    @property
    def anchors(self) -> Anchors:
        """The page's link texts: the link-list rule and the whole-body link check share them."""
        if self._anchors is None:
            self._anchors = Anchors(self.tree)
        return self._anchors


class Reference:
    """Text of independent candidates, for containment tests of single paragraphs.

    ``summaries`` (the page's description) confirm a paragraph that contains
    them: a lead paragraph often is the description plus a dateline.
    Containment is of whole words: a menu item ("Варзиш") is not confirmed by
    a longer word that starts with it ("Варзишгоҳи").
    """

    def __init__(self, paragraphs: list[str], summaries: Iterable[str] = ()) -> None:
        self.text = " ".join(normalized(p) for p in paragraphs)
        self._padded = f" {self.text} "
        self.vocabulary = frozenset(self.text.split())
        self.summaries = [f" {n} " for n in map(normalized, summaries) if len(n.split()) >= 6]

    def __bool__(self) -> bool:
        return bool(self.text)

    def contains(self, paragraph: str) -> bool:
        norm = normalized(paragraph)
        if not norm:
            return True
        padded = f" {norm} "
        if padded in self._padded or any(s in padded for s in self.summaries):
            return True
        tokens = norm.split()
        # Same words with different inline markup (e.g. link text glued to a word).
        return (
            len(tokens) >= MIN_CONTAINED_WORDS
            and sum(t in self.vocabulary for t in tokens) / len(tokens) >= 0.9
        )


def agreement(paragraphs: list[str], reference: Reference) -> float:
    """Share of the candidate's words that sit in paragraphs the reference also has."""
    total = _word_count(paragraphs)
    if not total or not reference:
        return 0.0
    return sum(len(words(p)) for p in paragraphs if reference.contains(p)) / total


def trim_edges(
    paragraphs: list[str],
    reference: Reference,
    min_agreement: float = 0.6,
    max_trim_share: float = 0.5,
) -> list[str]:
    """Drop leading/trailing paragraphs the reference lacks, when the two mostly agree."""
    if agreement(paragraphs, reference) < min_agreement:
        return paragraphs
    flags = [reference.contains(p) for p in paragraphs]
    start, end = 0, len(paragraphs)
    while start < end and not flags[start]:
        start += 1
    while end > start and not flags[end - 1]:
        end -= 1
    kept = paragraphs[start:end]
    if _word_count(kept) < (1 - max_trim_share) * _word_count(paragraphs):
        return paragraphs
    return kept


def drop_link_edges(
    paragraphs: list[str], density: Callable[[str], float], threshold: float
) -> list[str]:
    """Drop leading/trailing blocks that are mostly link text (teasers, tag lists)."""
    start, end = 0, len(paragraphs)
    while start < end and density(paragraphs[start]) > threshold:
        start += 1
    while end > start and density(paragraphs[end - 1]) > threshold:
        end -= 1
    return paragraphs[start:end]


def drop_link_lines(
    paragraphs: list[str], density: Callable[[str], float], threshold: float, min_run: int = 1
) -> list[str]:
    """Drop runs of at least ``min_run`` blocks that are mostly link text, wherever they stand.

    A list of linked headlines ("related news") or a site menu inside the
    article container is read by trafilatura as body text; a block that is
    mostly one link's words is a pointer to another page, not this story.
    ``density`` gives a block's share of link words (``Anchors.share``).
    """
    kept: list[str] = []
    for dense, run in groupby(paragraphs, key=lambda p: density(p) > threshold):
        blocks = list(run)
        if not dense or len(blocks) < min_run:
            kept.extend(blocks)
    return kept


def drop_title(paragraphs: list[str], titles: list[str]) -> list[str]:
    """The headline repeated as the first line is metadata, not body."""
    norms = {normalized(t) for t in titles if t}
    while paragraphs and normalized(paragraphs[0]) in norms:
        paragraphs = paragraphs[1:]
    return paragraphs


def vote(wide: list[str], narrow: list[str], ref: Reference) -> list[str]:
    """The wider text's paragraphs that the narrower run or the reference confirms."""
    confirmed = Reference(narrow)
    return [p for p in wide if confirmed.contains(p) or ref.contains(p)]


def _main_candidate(evidence: Evidence, config: BodyConfig, ref: Reference) -> list[str]:
    if config.mode == "vote":
        return vote(
            evidence.run("balanced", config.compare), evidence.run("precision", config.compare), ref
        )
    main = evidence.run(config.mode, config.compare)
    if config.recall_guard is None or config.mode != "precision":
        return main
    wide = evidence.run("balanced", config.compare)
    if _word_count(wide) >= config.recall_guard * max(1, _word_count(main)) and agreement(
        wide, ref
    ) >= agreement(main, ref):
        return wide
    return main


def choose_body(evidence: Evidence, config: BodyConfig = DEFAULT_CONFIG) -> Body | None:
    """Combine the candidates; None when none of them holds an article-sized text."""
    jsonld = split_paragraphs(evidence.jsonld_body or "")
    reference = evidence.reference if config.needs_reference else []
    ref = Reference([*reference, *jsonld], evidence.summaries)
    titles = evidence.titles if config.drop_title else []

    def clean(paragraphs: list[str]) -> list[str]:
        return clean_paragraphs(paragraphs, config.rules)

    main = _main_candidate(evidence, config, ref)
    if _word_count(main) >= MIN_BODY_WORDS:
        paragraphs = drop_title(main, titles)
        if config.max_link_density is not None:
            paragraphs = drop_link_lines(
                paragraphs, evidence.anchors.share, config.max_link_density, config.link_run
            )
        if config.trim:
            paragraphs = trim_edges(paragraphs, ref, config.min_agreement, config.max_trim_share)
        if config.max_edge_link_density is not None:
            paragraphs = drop_link_edges(
                paragraphs, evidence.link_density, config.max_edge_link_density
            )
        # Again: the headline is first only now when a menu or crumb line stood above it.
        paragraphs = drop_title(paragraphs, titles)
        if config.drop_head:
            paragraphs = drop_head(paragraphs, evidence.titles)
        cleaned = clean(paragraphs)
        method = "trafilatura" if cleaned == main else "combined"
        if config.jsonld_min_share is not None and _complete_jsonld(
            jsonld, cleaned, config.jsonld_min_share, [*main, *reference]
        ):
            return Body(jsonld, "jsonld")
        if _word_count(cleaned) >= MIN_BODY_WORDS:
            return Body(cleaned, method)
    for method, paragraphs in (("readability", evidence.reference), ("jsonld", jsonld)):
        paragraphs = drop_title(paragraphs, evidence.titles)
        if config.drop_head:
            paragraphs = drop_head(paragraphs, evidence.titles)
        cleaned = clean(paragraphs)
        if _word_count(cleaned) >= MIN_BODY_WORDS:
            return Body(cleaned, method)
    return None


def _complete_jsonld(
    jsonld: list[str], chosen: list[str], min_share: float, extracted: list[str]
) -> bool:
    """JSON-LD body as long as the chosen text and confirmed by what the extractors saw."""
    size = _word_count(jsonld)
    if size < max(MIN_BODY_WORDS, min_share * _word_count(chosen)):
        return False
    seen = Reference(extracted)
    confirmed = sum(t in seen.vocabulary for p in jsonld for t in normalized(p).split())
    return confirmed >= JSONLD_MIN_CONFIRMED * size


def _word_count(paragraphs: list[str]) -> int:
    return sum(len(words(p)) for p in paragraphs)
