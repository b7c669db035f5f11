"""Which words of a text are the text of one of the page's links.

Shared by the link-list check on a whole body (``extract.link_share``) and the
body step's rule for related-news lists (``body.drop_link_lines``), so a page's
link texts are collected once. Matching is on word sequences, not on blocks:
extractors merge and split blocks, but a link's words stay together.
"""

from __future__ import annotations

from lxml.html import HtmlElement

from crawler.extraction.text import normalized

MAX_ANCHOR_WORDS = 20


class Anchors:
    """The page's link texts (up to ``MAX_ANCHOR_WORDS`` words each), by first word."""

    def __init__(self, tree: HtmlElement) -> None:
        texts: set[tuple[str, ...]] = set()
        for a in tree.iter("a"):
            text = tuple(normalized(a.text_content()).split())
            if 0 < len(text) <= MAX_ANCHOR_WORDS:
                texts.add(text)
        self.texts = frozenset(texts)
        # Only the lengths of link texts starting with a position's word can match there.
        self._sizes: dict[str, list[int]] = {}
        for text in texts:
            self._sizes.setdefault(text[0], []).append(len(text))
        for sizes in self._sizes.values():
            sizes.sort(reverse=True)

    def __bool__(self) -> bool:
        return bool(self.texts)

    def linked_words(self, tokens: list[str]) -> int:
        """How many of ``tokens`` lie in a run equal to a link text, longest first.

        The cost is bounded by len(tokens) x MAX_ANCHOR_WORDS.
        """
        linked = i = 0
        while i < len(tokens):
            for size in self._sizes.get(tokens[i], ()):
                if size <= len(tokens) - i and tuple(tokens[i : i + size]) in self.texts:
                    linked += size
                    i += size
                    break
            else:
                i += 1
        return linked

    def share(self, text: str) -> float:
        """Share of the words of ``text`` that are link text; 0 for a text without words."""
        tokens = normalized(text).split()
        return self.linked_words(tokens) / len(tokens) if tokens else 0.0
