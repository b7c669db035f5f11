"""Why a story matched, in the reader's words: the story's own words, quoted in context.

A reader judging an alert wants to see what the story says, not how the query
is written (``=office``, ``interior ministr*``, ``NEAR/12``). The matcher
records where each hit stands in the analysed title or text; this module maps
those hits back to spans of that text and quotes each with a few words either
side, the matched words between “ and ”. Hits close together (both sides of a
NEAR, words of one sentence) share one quote, so it reads as a phrase of the
story: ``…the Tajik “interior ministry” will open a “liaison office” in…``.
Metadata hits say what they are in plain words (``written in Russian``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.query.document import AnalyzedDocument
    from core.query.matcher import Hit

# Characters of context either side of the matched words (cut back to a word boundary).
CONTEXT_CHARS = 40
# Hits this close (in characters) share one quote.
JOIN_GAP = 60
# More quotes than this would bury the first ones; the first hits are the most telling.
MAX_QUOTES = 5
OPEN, CLOSE, CUT = "“", "”", "…"
# The label of a quote from the headline (core.why translates it where it is shown).
HEADLINE = "headline: "
_ZONES = ("title", "text")
_SENTENCE_ENDS = (". ", "! ", "? ")
LANGUAGE_NAMES = {
    "ru": "Russian",
    "tg": "Tajik",
    "en": "English",
    "uz": "Uzbek",
    "ky": "Kyrgyz",
    "kk": "Kazakh",
    "uk": "Ukrainian",
    "be": "Belarusian",
}


@dataclass(frozen=True, slots=True)
class Quote:
    """A piece of the story's title or text with the matched words marked.

    ``spans`` are character offsets of the matched words in that zone's text;
    ``start``/``end`` bound the quoted piece, context included.
    """

    where: str  # "title" or "text"
    start: int
    end: int
    spans: tuple[tuple[int, int], ...]
    text: str  # the quote as shown: context, marks and ellipses

    def __str__(self) -> str:
        return self.text


def hit_spans(hits: Iterable[Hit]) -> dict[str, list[tuple[int, int]]]:
    """Merged character spans of the hits in each zone ("title", "text"), in text order."""
    found: dict[str, list[tuple[int, int]]] = {}
    for hit in hits:
        if hit.where in _ZONES and 0 <= hit.start < hit.end:
            found.setdefault(hit.where, []).append((hit.start, hit.end))
    merged: dict[str, list[tuple[int, int]]] = {}
    for zone, spans in found.items():
        out: list[tuple[int, int]] = []
        for start, end in sorted(spans):
            if out and start <= out[-1][1]:
                out[-1] = (out[-1][0], max(end, out[-1][1]))
            else:
                out.append((start, end))
        merged[zone] = out
    return merged


def quotes(doc: AnalyzedDocument, hits: Iterable[Hit]) -> list[Quote]:
    """The story's words that made it match, each with a little context, title first."""
    result: list[Quote] = []
    for zone, spans in hit_spans(hits).items():
        text = doc.title if zone == "title" else doc.text
        group: list[tuple[int, int]] = []
        for span in _join_adjacent(text, spans):
            if group and span[0] - group[-1][1] > JOIN_GAP:
                result.append(_quote(zone, text, group))
                group = []
            group.append(span)
        if group:
            result.append(_quote(zone, text, group))
    result.sort(key=lambda q: (_ZONES.index(q.where), q.start))
    return result


def reader_why(doc: AnalyzedDocument, hits: Iterable[Hit]) -> list[str]:
    """Lines for "why it matched": quotes of the story, then metadata in plain words."""
    hits = list(hits)
    lines = [
        (HEADLINE if q.where == "title" else "") + q.text for q in quotes(doc, hits)[:MAX_QUOTES]
    ]
    for hit in hits:
        if hit.where not in _ZONES:
            lines.append(_metadata(hit, doc))
    return list(dict.fromkeys(lines))


def _join_adjacent(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans with only spaces between them become one: “liaison office”, not “liaison” “office”."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if out and not text[out[-1][1] : start].strip():
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _quote(zone: str, text: str, spans: list[tuple[int, int]]) -> Quote:
    first, last = spans[0][0], spans[-1][1]
    start, before_cut = _left_edge(text, first)
    end, after_cut = _right_edge(text, last)
    pieces: list[str] = [CUT] if before_cut else []
    position = start
    for a, b in spans:
        pieces += [text[position:a], OPEN, text[a:b], CLOSE]
        position = b
    pieces.append(text[position:end])
    if after_cut:
        pieces.append(CUT)
    shown = " ".join("".join(pieces).split())
    return Quote(zone, start, end, tuple(spans), shown)


def _left_edge(text: str, first: int) -> tuple[int, bool]:
    """Where the quote starts: a word boundary at most CONTEXT_CHARS back, within the line."""
    start = max(0, first - CONTEXT_CHARS)
    line = text.rfind("\n", start, first)
    if line >= 0:
        return line + 1, False
    sentence = max(text.rfind(mark, start, first) for mark in _SENTENCE_ENDS)
    if sentence >= 0:
        return sentence + 2, False
    if start == 0:
        return 0, False
    space = text.find(" ", start, first)
    return (space + 1, True) if space >= 0 else (first, True)


def _right_edge(text: str, last: int) -> tuple[int, bool]:
    end = min(len(text), last + CONTEXT_CHARS)
    line = text.find("\n", last, end)
    if line >= 0:
        return line, False
    ends = [i for i in (text.find(mark, last, end) for mark in _SENTENCE_ENDS) if i >= 0]
    if ends:
        return min(ends) + 1, False
    if end == len(text):
        return end, False
    space = text.rfind(" ", last, end)
    return (space, True) if space >= 0 else (last, True)


def _metadata(hit: Hit, doc: AnalyzedDocument) -> str:
    if hit.where == "lang":
        code = doc.lang or ""
        return f"written in {LANGUAGE_NAMES.get(code, code)}"
    value = hit.matched.split(":", 1)[-1]
    if hit.where == "source":
        return f"from {value}"
    return f"published on {value}"
