"""Search feeds: one source, one request per topic, stories filed under their outlets.

A search source's URL is a template holding ``{query}``, for example a news
search engine's RSS endpoint, ``https://news.example/rss/search?q={query}&hl=ru``.
Each enabled topic fills it with the plain search string of its query
(``core.query.search_string``), URL-encoded; the answer is an ordinary
RSS/Atom feed whose items link to the outlets' own pages. Those stories are
filed under the outlet (``crawler.outlets``), by the host of the item's link.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote_plus, urlsplit

from core.errors import QueryError
from core.query import parse
from core.query.search_string import search_string

PLACEHOLDER = "{query}"


class SearchTemplateError(ValueError):
    """The search source's URL cannot be filled; the message says how to fix it."""


@dataclass(frozen=True)
class SearchRequest:
    topic: str
    query: str
    url: str


def check_template(url: str) -> None:
    """Raises SearchTemplateError unless ``url`` is an http(s) URL holding ``{query}``."""
    if PLACEHOLDER not in url:
        raise SearchTemplateError(
            f"a search source's URL must hold {PLACEHOLDER} where the topic's words go: {url!r}"
        )
    filled = url.replace(PLACEHOLDER, "x")
    parts = urlsplit(filled)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SearchTemplateError(f"a search source's URL must be http(s): {url!r}")


def fill(template: str, words: str) -> str:
    """The template with ``{query}`` replaced by the URL-encoded words."""
    return template.replace(PLACEHOLDER, quote_plus(words))


def search_requests(template: str, topics: list[tuple[str, str]]) -> list[SearchRequest]:
    """One request per (slug, query) topic; a topic whose query leaves no words is skipped."""
    check_template(template)
    found = []
    for slug, query_text in topics:
        try:
            words = search_string(parse(query_text))
        except QueryError:
            continue
        if words:
            found.append(SearchRequest(slug, words, fill(template, words)))
    return found
