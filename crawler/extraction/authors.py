"""Who wrote the article: the byline the page's own statements agree on.

Three independent statements: JSON-LD ``author``, the head's meta tags
(``author``, ``article:author``, …) and the visible byline (elements marked
as byline/author by class, rel, itemprop or data attributes, or a line
labelled "Author:"/"Autor"/"Автор"). The names most of them agree on win,
ties going to the more trusted (JSON-LD, then meta, then visible); the
visible byline alone counts when the head names nobody.

Cleaning: "By", "and", "и", commas; a URL or a value naming a web domain
("Deutsche Welle (www.dw.com)") is a publisher, not a byline; a trailing
part equal to the site name is the author's affiliation ("…, CNN"); "in
<Place>" after a name is the dateline ("Associated Press in Valencia").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from lxml.html import HtmlElement

from crawler.extraction.jsonld import JsonLdArticle
from crawler.extraction.mojibake import fix_mojibake
from crawler.extraction.page_meta import PageMeta
from crawler.extraction.text import normalized, words

META_KEYS = ("author", "article:author", "parsely-author", "sailthru.author", "dc.creator")
_PREFIX = re.compile(
    r"^\s*(?:(?:by|from|von|par|автор|текст|муаллиф|muallif|yazar)\b\s*:?|(?:and|и)\b|&)\s*",
    re.IGNORECASE,
)
_DOMAIN = re.compile(
    r"\b[\w-]+\.(?:com|org|net|ru|tj|uz|kz|kg|de|uk|fr|info|news|io)\b", re.IGNORECASE
)
_DATELINE = re.compile(r"^(\S+(?:\s+\S+)+?)\s+in\s+\p{Lu}.*$".replace(r"\p{Lu}", "[A-ZА-ЯЁ]"))
_SEPARATORS = re.compile(r"\s+(?:and|&|и|va|ва)\s+|\s*[,;|]\s*", re.IGNORECASE)
_MARKED = re.compile(r"byline|author", re.IGNORECASE)
_LABELLED = re.compile(
    r"^\s*(?:autorin/autor|autor(?:in)?|author|автор|муаллиф|muallif|yazar)\s*:?\s+(.+)$",
    re.IGNORECASE,
)
_PARTICLES = frozenset(
    {"de", "da", "van", "von", "der", "den", "al", "el", "bin", "ibn", "la", "le"}
)
_INLINE = frozenset({"a", "span", "strong", "b", "em", "i"})
MAX_NAME_WORDS = 5
MAX_AUTHORS = 6


def _looks_like_name(name: str) -> bool:
    tokens = name.split()
    if not 2 <= len(tokens) <= MAX_NAME_WORDS or any(c.isdigit() or c == "@" for c in name):
        return False
    return all(t[0].isupper() or t.lower() in _PARTICLES for t in tokens)


def clean_name(value: str, site_words: frozenset[str] = frozenset()) -> str | None:
    """One author name from a byline fragment, or None when it names no one."""
    name = _PREFIX.sub("", " ".join(value.split())).strip(" ,;|-–—")
    if not name or "://" in name or _DOMAIN.search(name) or len(words(name)) > 8:
        return None
    name = _DATELINE.sub(r"\1", name)
    if site_words and set(normalized(name).split()) <= site_words:
        return None
    return fix_mojibake(name)


def split_names(values: Iterable[str], site_words: frozenset[str] = frozenset()) -> list[str]:
    names: list[str] = []
    for value in values:
        if "://" in value.strip()[:10] or _DOMAIN.search(value):
            continue  # a profile URL or the publisher's own name with its domain
        parts = [p for p in _SEPARATORS.split(value) if p.strip()]
        # The site's name closing a list of people is their affiliation, not an author.
        keep_site = len(parts) == 1
        for part in parts:
            name = clean_name(part, frozenset() if keep_site else site_words)
            if name and name not in names:
                names.append(name)
    return names[:MAX_AUTHORS]


def _marked(el: HtmlElement) -> bool:
    attrs = " ".join(
        el.get(a, "") for a in ("class", "rel", "itemprop", "data-component", "data-link-name")
    )
    return bool(_MARKED.search(attrs))


def _byline_elements(tree: HtmlElement) -> Iterator[HtmlElement]:
    body = tree.find("body")
    if body is None:
        return
    for el in body.iter("a", "span", "p", "div", "address", "li", "strong", "b"):
        if _marked(el) and not any(_marked(child) for child in el.iterdescendants()):
            yield el


def _byline_box(el: HtmlElement) -> HtmlElement | None:
    """The block holding a byline element: its parent, above inline wrappers."""
    parent = el.getparent()
    while parent is not None and parent.tag in _INLINE:
        parent = parent.getparent()
    return parent


def visible_byline(tree: HtmlElement, site_words: frozenset[str] = frozenset()) -> list[str]:
    """Names in the first byline the page shows: its innermost marked elements, or a label."""
    first: HtmlElement | None = None
    names: list[str] = []
    for el in _byline_elements(tree):
        text = " ".join(el.text_content().split())
        found = [n for n in split_names([text], site_words) if _looks_like_name(n)]
        if not found:
            continue
        if first is None:
            first = _byline_box(el)
        elif _byline_box(el) is not first:
            break  # a later byline: a teaser's, not the article's
        names += [n for n in found if n not in names]
    if names:
        return names[:MAX_AUTHORS]
    for el in tree.iter("li", "p", "div", "span"):
        text = " ".join(el.text_content().split())
        match = _LABELLED.match(text) if len(text.split()) <= 6 else None
        if match:
            found = [n for n in split_names([match.group(1)], site_words) if _looks_like_name(n)]
            if found:
                return found
    return []


def find_authors(
    tree: HtmlElement, meta: PageMeta, jsonld: JsonLdArticle | None, site_names: Iterable[str]
) -> list[str]:
    site_words = frozenset(w for s in site_names for w in normalized(s).split() if len(w) > 1)
    statements = [
        split_names(jsonld.authors if jsonld else [], site_words),
        split_names(meta.all(*META_KEYS), site_words),
        visible_byline(tree, site_words),
    ]
    keys = [frozenset(normalized(n) for n in names) for names in statements]

    def support(index: int) -> tuple[int, int]:
        return sum(1 for k in keys if k and k == keys[index]), -index

    present = [i for i, names in enumerate(statements) if names]
    return statements[max(present, key=support)] if present else []
