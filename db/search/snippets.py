"""Highlighted titles and snippets: the story's own words that the query matched.

The positive words, phrases and entities of the query are matched against
the analysed story (the same code as topic matching), and their word
positions are wrapped in ``<mark>``. Everything else is escaped: stored text
is untrusted, and the result is safe to insert into HTML as it is.
"""

from __future__ import annotations

import re

from core.query import Query
from core.query.ast import And, Entity, Field, Near, Node, Or, Phrase, Term
from core.query.document import TITLE, ZONE_GAP, AnalyzedDocument
from core.query.matcher import Positional, TermMatcher, compile_node
from core.query.normalize import WORD_RE
from markupsafe import Markup, escape

SNIPPET_WORDS = 36
LEAD_WORDS = 8


def _positive_leaves(node: Node, title: bool) -> list[tuple[Node, bool]]:
    if isinstance(node, Term | Phrase | Entity):
        return [(node, title)]
    if isinstance(node, And | Or):
        return [leaf for child in node.children for leaf in _positive_leaves(child, title)]
    if isinstance(node, Near):
        return _positive_leaves(node.left, title) + _positive_leaves(node.right, title)
    if isinstance(node, Field):
        return _positive_leaves(node.child, True) if node.name == "title" else []
    return []  # NOT: nothing of it is in a matching story


def marked_positions(query: Query, adoc: AnalyzedDocument) -> set[int]:
    """Word positions (as in the analysed story) covered by a positive part of the query."""
    marked: set[int] = set()
    for node, title in _positive_leaves(query.root, False):
        matcher = compile_node(node, title)
        if not isinstance(matcher, Positional):
            continue
        for first, last in matcher.spans(adoc):
            marked.update(range(first, last + 1))
    return marked


def _render(text: str, spans: list[tuple[int, int, bool]]) -> Markup:
    out: list[str] = []
    for start, end, hit in spans:
        piece = escape(text[start:end])
        out.append(f"<mark>{piece}</mark>" if hit else str(piece))
    return Markup("".join(out))


def _zone_markup(
    adoc: AnalyzedDocument, zone: int, marked: set[int], first: int, last: int
) -> Markup:
    """The zone's text from word ``first`` to ``last`` (indexes within the zone), marked."""
    text = adoc.title if zone == TITLE else adoc.text
    spans = [m.span() for m in WORD_RE.finditer(text)]
    if not spans:
        return Markup(escape(text))
    base = 0 if zone == TITLE else adoc.title_end + ZONE_GAP
    last = min(last, len(spans) - 1)
    start = 0 if first == 0 else spans[first][0]
    end = len(text) if last == len(spans) - 1 else spans[last][1]
    pieces: list[tuple[int, int, bool]] = []
    cursor = start
    for index in range(first, last + 1):
        if base + index in marked:
            word_start, word_end = spans[index]
            if word_start > cursor:
                pieces.append((cursor, word_start, False))
            pieces.append((word_start, word_end, True))
            cursor = word_end
    if end > cursor:
        pieces.append((cursor, end, False))
    return _render(text, pieces)


class Locator:
    """Finds roughly where in a text the query's words are, without analysing it.

    A snippet shows a few dozen words; analysing a long story to place them
    costs more than the search. The locator looks for the start of a stem or
    form of a positive query word in the lower-cased text; only the window it
    points at is analysed (exactly) for highlighting.
    """

    WINDOW_CHARS = 420
    LEAD_CHARS = 90

    def __init__(self, prefixes: list[str]) -> None:
        alternatives = sorted({p for p in prefixes if len(p) >= 2}, key=len, reverse=True)
        self.pattern = (
            re.compile(
                r"(?<![^\W_])(?:" + "|".join(map(_unfolded, alternatives)) + ")", re.IGNORECASE
            )
            if alternatives
            else None
        )

    @classmethod
    def of(cls, query: Query | None) -> Locator:
        prefixes: list[str] = []
        for node, title in _positive_leaves(query.root, False) if query is not None else []:
            if title:
                continue
            for term in _words(node):
                matcher = TermMatcher(term, False)
                if matcher.prefix is not None or matcher.exact is not None:
                    prefixes.append(matcher.prefix or matcher.exact or "")
                    continue
                for key in matcher.keys:
                    family, _, value = key.partition(":")
                    if family in ("r", "t", "n"):
                        prefixes.append(value)
                    elif family == "e":
                        prefixes.append(value.rstrip("ie") or value)
        return cls(prefixes)

    def window(self, text: str) -> tuple[str, bool, bool]:
        """(part of ``text`` to show, whether text was cut before it, whether after it)."""
        if len(text) <= self.WINDOW_CHARS:
            return text, False, False
        start = 0
        if self.pattern is not None:
            found = self.pattern.search(text)
            if found is not None and found.start() > self.LEAD_CHARS:
                start = text.find(" ", found.start() - self.LEAD_CHARS) + 1
        end = start + self.WINDOW_CHARS
        if end < len(text):
            space = text.rfind(" ", start, end)
            end = space if space > start else end
        return text[start:end], start > 0, end < len(text)


# Letters a folded prefix stands for: the text is searched as it is, not folded,
# since folding a whole long story costs more than the rest of its snippet.
_UNFOLDED = {"е": "её", "х": "хҳ", "ч": "чҷ", "и": "иӣ", "у": "уӯ", "к": "кқ", "г": "гғ"}


def _unfolded(prefix: str) -> str:
    """A pattern for ``prefix`` that also finds the letters folding turned into its own."""
    return "".join(f"[{_UNFOLDED[ch]}]" if ch in _UNFOLDED else re.escape(ch) for ch in prefix)


def _words(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Phrase):
        return list(node.words)
    if isinstance(node, Entity):
        return [w for leaf, _ in _positive_leaves(node.expansion, False) for w in _words(leaf)]
    return []


def highlight(
    query: Query | None,
    adoc: AnalyzedDocument,
    *,
    cut_before: bool = False,
    cut_after: bool = False,
) -> tuple[Markup, Markup]:
    """(title, snippet) as safe HTML: the whole title, and a window of the text around the first hit.

    ``cut_before``/``cut_after``: the analysed text is itself a window of the story's text.
    """
    marked = marked_positions(query, adoc) if query is not None else set()
    title = _zone_markup(adoc, TITLE, marked, 0, adoc.title_end)
    body_count = len(adoc.words) - adoc.title_end
    if body_count == 0:
        return title, Markup("")
    body_hits = sorted(p - adoc.title_end - ZONE_GAP for p in marked if p >= adoc.title_end)
    first = max(body_hits[0] - LEAD_WORDS, 0) if body_hits else 0
    last = min(first + SNIPPET_WORDS, body_count) - 1
    snippet = _zone_markup(adoc, 1, marked, first, last)
    prefix = "… " if first > 0 or cut_before else ""
    suffix = " …" if last < body_count - 1 or cut_after else ""
    return title, Markup(prefix) + snippet + Markup(suffix)
