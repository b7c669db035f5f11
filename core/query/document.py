"""A story analysed once, reused for every topic and every query.

Title and body are tokenised into one positional stream: title words take
positions ``0 .. title_end-1`` and body words start at ``title_end + ZONE_GAP``,
so phrases and NEAR never join the last title word to the first body word,
and ``title:`` restricts a term to positions below ``title_end``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.language import detect_language, normalize_language
from core.query.normalize import WORD_RE, fold_word, normalize_text
from core.query.stemming import document_keys

# Larger than the longest allowed NEAR/slop distance (see parser.MAX_DISTANCE).
ZONE_GAP = 1000
TITLE, TEXT = 0, 1


@dataclass(frozen=True, slots=True)
class Document:
    """A story as the crawler stores it; ``lang`` is a hint and may be wrong or absent."""

    title: str = ""
    text: str = ""
    lang: str | None = None
    source: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Token:
    zone: int
    start: int
    end: int
    form: str


class AnalyzedDocument:
    """Positions of every word key in a story, plus what "why" lines need.

    Character offsets of words are only needed to quote the story in a hit,
    which is rare, so they are computed on first use.
    """

    __slots__ = (
        "_sorted_forms",
        "_spans",
        "document",
        "forms",
        "host",
        "lang",
        "postings",
        "source",
        "text",
        "title",
        "title_end",
        "title_keys",
        "words",
    )

    def __init__(
        self,
        document: Document,
        title: str,
        text: str,
        words: list[str],
        title_end: int,
        postings: dict[str, list[int]],
        title_keys: frozenset[str],
        forms: dict[str, list[int]],
        lang: str | None,
        source: str,
        host: str,
    ) -> None:
        self.document = document
        self.title = title
        self.text = text
        self.words = words
        self.title_end = title_end
        self.postings = postings
        self.title_keys = title_keys
        self.forms = forms
        self.lang = lang
        self.source = source
        self.host = host
        self._spans: list[list[tuple[int, int]] | None] = [None, None]
        self._sorted_forms: list[str] | None = None

    def forms_starting(self, prefix: str) -> list[str]:
        """The document's word forms that start with ``prefix``, in sorted order.

        Wildcard terms are many in the beat's lexicon; a binary search over the
        sorted forms replaces a scan of every form for each of them.
        """
        if self._sorted_forms is None:
            self._sorted_forms = sorted(self.forms)
        forms = self._sorted_forms
        found = []
        for i in range(bisect_left(forms, prefix), len(forms)):
            if not forms[i].startswith(prefix):
                break
            found.append(forms[i])
        return found

    @property
    def tokens(self) -> list[Token]:
        return [self.token_at(p) for p in range(self.title_end)] + [
            self.token_at(p) for p in range(self.title_end + ZONE_GAP, len(self.words) + ZONE_GAP)
        ]

    def token_at(self, position: int) -> Token:
        """The word at ``position``, with its place in its zone's text.

        Only a hit's words need their places, so each zone's word spans are found
        once on first use; the forms are the analysis's own (``words``), not
        folded again: building every word's token for a story's first hit cost
        the matcher as much as the analysis itself.
        """
        if position < self.title_end:
            zone, index, words_at = TITLE, position, position
        else:
            zone, index = TEXT, position - ZONE_GAP - self.title_end
            words_at = position - ZONE_GAP
        spans = self._spans[zone]
        if spans is None:
            spans = self._spans[zone] = _spans((self.title, self.text)[zone])
        start, end = spans[index]
        return Token(zone, start, end, self.words[words_at])

    def surface(self, first: int, last: int) -> str:
        """The document's own text from token ``first`` to token ``last`` (positions)."""
        a, b = self.token_at(first), self.token_at(last)
        return (self.title, self.text)[a.zone][a.start : b.end]

    def zone_name(self, position: int) -> str:
        return "title" if position < self.title_end else "text"


def analyze_document(
    doc: Document, stem_only: Callable[[str], bool] | None = None
) -> AnalyzedDocument:
    """Tokenise, fold and stem a story once; every topic then reads the result.

    ``stem_only`` (a word form -> whether to stem it) limits stemming to the
    words one query can match (``db.search.analysis``); forms and positions
    are always kept.
    """
    title, text = normalize_text(doc.title or ""), normalize_text(doc.text or "")
    title_words = [fold_word(w) for w in WORD_RE.findall(title)]
    text_words = [fold_word(w) for w in WORD_RE.findall(text)]
    title_end = len(title_words)
    forms: dict[str, list[int]] = {}
    for position, form in enumerate(title_words):
        forms.setdefault(form, []).append(position)
    for position, form in enumerate(text_words, title_end + ZONE_GAP):
        forms.setdefault(form, []).append(position)
    postings: dict[str, list[int]] = {}
    for form, positions in forms.items():
        if stem_only is not None and not stem_only(form):
            continue
        for key in document_keys(form):
            known = postings.get(key)
            # Lists are shared between keys and never mutated after this loop.
            postings[key] = positions if known is None else sorted(known + positions)
    title_keys = frozenset(
        key
        for form in set(title_words)
        if stem_only is None or stem_only(form)
        for key in document_keys(form)
    )
    words = title_words + text_words
    return AnalyzedDocument(
        document=doc,
        title=title,
        text=text,
        words=words,
        title_end=title_end,
        postings=postings,
        title_keys=title_keys,
        forms=forms,
        lang=normalize_language(doc.lang) or detect_language(title + "\n" + text),
        source=" ".join(fold_word(w) for w in WORD_RE.findall(doc.source or "")),
        host=_host(doc.url),
    )


def _spans(text: str) -> list[tuple[int, int]]:
    """Where each word of ``text`` is, in the order the analysis read them (WORD_RE)."""
    return [m.span() for m in WORD_RE.finditer(text)]


def _host(url: str | None) -> str:
    if not url:
        return ""
    try:
        host = urlsplit(url if "//" in url else "//" + url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.").rstrip(".")
