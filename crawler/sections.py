"""Sites without feeds: which links on a section page are articles.

A ministry's press page or a regional outlet's "news" page lists its articles
among menus, footers, tag clouds and links to other sections. Unless the
source has its own rules (a CSS selector or an XPath expression stored with
it, ``Source.link_rules``), each link is scored on what tells an article link
apart on real sites:

* its URL's shape: a date (``/2026/12/07/``, ``20261207``), a numeric id, a
  slug of several words, a path below the section's own;
* its place: inside ``<main>``/``<article>``/a heading, and not inside
  ``<nav>``, ``<header>``, ``<footer>``, ``<aside>`` or a block whose class
  or id names a menu, sidebar or footer;
* its text: a headline is several words, a menu entry one or two;
* repetition: article links share one URL pattern, many times over;
* a date next to it (``<time>`` or date-like text in its block), which also
  becomes the story's published time when the article page has none.

Links scoring ``THRESHOLD`` or more are kept, once each, in page order.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from lxml import etree, html
from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement

from crawler.feeds import parse_loose_date

THRESHOLD = 4
MAX_PAGE_BYTES = 5 * 1024 * 1024

_DATE_IN_PATH = re.compile(r"/(19|20)\d\d[/-]?(0[1-9]|1[0-2])([/-]?[0-3]\d)?(?=[/\-_.]|$)")
_COMPACT_DATE = re.compile(r"(19|20)\d\d(0[1-9]|1[0-2])[0-3]\d")
_ID = re.compile(r"(?:^|[/\-_.])\d{4,}(?:$|[/\-_.])")
_QUERY_ID = re.compile(r"(?:^|&)[a-z_]*id=\d{3,}(?:&|$)", re.IGNORECASE)
_SLUG = re.compile(r"[a-zа-яё0-9]+(?:[-_][a-zа-яё0-9]+){2,}", re.IGNORECASE)
_NOT_PAGES = re.compile(
    r"\.(?:jpe?g|png|gif|webp|svg|pdf|docx?|xlsx?|zip|rar|mp[34]|avi|mov|css|js|xml|rss)$",
    re.IGNORECASE,
)
_NOT_ARTICLES = re.compile(
    r"/(?:tags?|category|categories|rubric|section|author|authors|search|login|register|"
    r"account|subscribe|about|contacts?|privacy|terms|feed|rss|page)(?:/|$)",
    re.IGNORECASE,
)
_CHROME_TAGS = frozenset({"nav", "header", "footer", "aside", "form", "menu"})
_CHROME_WORDS = re.compile(
    r"(?:^|[\s_-])(?:nav|navbar|navigation|menu|footer|sidebar|breadcrumbs?|social|share|"
    r"topbar|masthead|cookie|banner|pagination|pager)(?:$|[\s_-])",
    re.IGNORECASE,
)
_MAIN_TAGS = frozenset({"main", "article", "h1", "h2", "h3", "h4"})
_DATE_TEXT = re.compile(
    r"\b(?:\d{1,2}[./]\d{1,2}[./]\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}\s+[A-Za-zА-Яа-яё]{3,}\s+\d{4}|"
    r"\d{1,2}:\d{2})\b"
)


@dataclass(frozen=True)
class SectionLink:
    url: str
    text: str
    published: datetime | None = None


class LinkRulesError(ValueError):
    """A per-source CSS or XPath rule that does not compile; the message says which."""


def check_rules(rules: dict[str, Any] | None) -> dict[str, str] | None:
    """Validated rules ({"css": ..., "xpath": ...}); raises LinkRulesError for a bad one."""
    if not rules:
        return None
    clean: dict[str, str] = {}
    for key in ("css", "xpath"):
        value = rules.get(key)
        if value is None or not str(value).strip():
            continue
        text = str(value).strip()
        try:
            if key == "css":
                CSSSelector(text)
            else:
                etree.XPath(text)
        except Exception as exc:  # cssselect and lxml raise several unrelated types
            raise LinkRulesError(f"the {key} rule {text!r} does not compile: {exc}") from exc
        clean[key] = text
    unknown = set(rules) - {"css", "xpath"}
    if unknown:
        raise LinkRulesError(f"unknown link rule(s) {sorted(unknown)}: use css and/or xpath")
    return clean or None


def find_article_links(
    body: bytes,
    *,
    page_url: str,
    rules: dict[str, Any] | None = None,
    fetched_at: datetime | None = None,
) -> list[SectionLink]:
    """The article links of a section page, by the source's rules or the heuristics."""
    fetched_at = fetched_at or datetime.now(UTC)
    if not body.strip():
        return []
    try:
        root = html.fromstring(body[:MAX_PAGE_BYTES], base_url=page_url)
    except (etree.ParserError, ValueError):
        return []
    checked = check_rules(rules)
    if checked:
        return _by_rules(root, page_url, checked, fetched_at)
    return _by_heuristics(root, page_url, fetched_at)


def _by_rules(
    root: HtmlElement, page_url: str, rules: dict[str, str], fetched_at: datetime
) -> list[SectionLink]:
    found: list[HtmlElement] = []
    if "css" in rules:
        found += CSSSelector(rules["css"])(root)
    if "xpath" in rules:
        found += [n for n in root.xpath(rules["xpath"]) if isinstance(n, HtmlElement)]
    anchors: list[HtmlElement] = []
    for node in found:
        if node.tag == "a":
            anchors.append(node)
        else:
            anchors += node.iter("a")
    links = []
    seen: set[str] = set()
    for anchor in anchors:
        url = _absolute(anchor.get("href"), page_url)
        if url is None or url in seen or url == _strip_fragment(page_url):
            continue
        seen.add(url)
        links.append(SectionLink(url, _text(anchor), _date_near(anchor, fetched_at)))
    return links


def _by_heuristics(root: HtmlElement, page_url: str, fetched_at: datetime) -> list[SectionLink]:
    section = urlsplit(page_url)
    candidates: list[tuple[HtmlElement, str]] = []
    for anchor in root.iter("a"):
        url = _absolute(anchor.get("href"), page_url)
        if url is None or not _same_site(urlsplit(url).hostname, section.hostname):
            continue
        path = urlsplit(url).path
        if url == _strip_fragment(page_url) or path in ("", "/") or _NOT_PAGES.search(path):
            continue
        candidates.append((anchor, url))
    patterns = Counter(_pattern(url) for _, url in candidates)
    best: dict[str, tuple[int, SectionLink]] = {}
    order: list[str] = []
    for anchor, url in candidates:
        score = _score(anchor, url, section.path, patterns)
        if score < THRESHOLD:
            continue
        link = SectionLink(url, _text(anchor), _date_near(anchor, fetched_at))
        if url not in best:
            order.append(url)
            best[url] = (score, link)
        elif len(link.text) > len(best[url][1].text):
            # A card links its picture and its headline: keep the headline.
            best[url] = (max(score, best[url][0]), link)
    return [best[url][1] for url in order]


def _score(anchor: HtmlElement, url: str, section_path: str, patterns: Counter[str]) -> int:
    parts = urlsplit(url)
    path = parts.path
    score = 0
    if _DATE_IN_PATH.search(path) or _COMPACT_DATE.search(path):
        score += 3
    # An id in the path (/news/12345-...) or the query (index.php?newsid=1041).
    if _ID.search(path) or _QUERY_ID.search(parts.query):
        score += 2
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if _SLUG.fullmatch(last.rsplit(".", 1)[0]):
        score += 2
    if path.count("/") >= 2 and len(path.strip("/").split("/")) >= 2:
        score += 1
    if section_path.strip("/") and path.startswith(section_path.rstrip("/") + "/"):
        score += 1
    if _NOT_ARTICLES.search(path):
        score -= 4
    words = len(_text(anchor).split())
    if words >= 4:
        score += 2
    elif words <= 2 and not anchor.iter("img"):
        score -= 2
    inside_main = False
    for parent in anchor.iterancestors():
        tag = str(parent.tag).lower()
        marks = f"{parent.get('class', '')} {parent.get('id', '')} {parent.get('role', '')}"
        if tag in _CHROME_TAGS or _CHROME_WORDS.search(marks):
            return -10
        if tag in _MAIN_TAGS or parent.get("role") == "main":
            inside_main = True
    if inside_main or str(anchor.getparent().tag if anchor.getparent() is not None else "") in (
        "h2",
        "h3",
    ):
        score += 1
    if patterns[_pattern(url)] >= 3:
        score += 2
    if _date_near(anchor, None) is not None:
        score += 1
    return score


def _pattern(url: str) -> str:
    """A link's URL shape: digits as 9, the last segment as *, so siblings compare equal."""
    split = urlsplit(url)
    parts = split.path.rstrip("/").split("/")
    shape = [re.sub(r"\d", "9", p) for p in parts[:-1]] + ["*"]
    keys = sorted(k.split("=", 1)[0] for k in split.query.split("&") if k)
    return "/".join(shape) + ("?" + "&".join(keys) if keys else "")


def _date_near(anchor: HtmlElement, fetched_at: datetime | None) -> datetime | None:
    """A date in the link's own block (its parent, or grandparent): a <time> or date text."""
    block: HtmlElement | None = anchor
    for _ in range(3):
        if block is None:
            return None
        for time in block.iter("time"):
            value = time.get("datetime") or time.text_content()
            if value and value.strip():
                return _as_date(value, fetched_at) if fetched_at else datetime.now(UTC)
        text = block.text_content() if block is not anchor else ""
        if text and len(text) < 600:
            found = _DATE_TEXT.search(text)
            if found:
                return _as_date(found.group(0), fetched_at) if fetched_at else datetime.now(UTC)
        block = block.getparent()
    return None


def _as_date(text: str, fetched_at: datetime) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return parse_loose_date(text, fetched_at=fetched_at)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def _absolute(href: str | None, base: str) -> str | None:
    if not href or href.strip().startswith(("#", "javascript:", "mailto:", "tel:")):
        return None
    url = _strip_fragment(urljoin(base, href.strip()))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return url


def _strip_fragment(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


def _same_site(host: str | None, section_host: str | None) -> bool:
    if not host or not section_host:
        return False
    a, b = host.lower().removeprefix("www."), section_host.lower().removeprefix("www.")
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def _text(anchor: HtmlElement) -> str:
    return " ".join(anchor.text_content().split())
