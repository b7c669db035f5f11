"""``extract_article``: fetched bytes in, an article or the reason there is none out."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html
from core.language import detect_language, normalize_language
from lxml.html import HtmlElement

from crawler.extraction.authors import find_authors
from crawler.extraction.body import (
    DEFAULT_CONFIG,
    MIN_BODY_WORDS,
    Body,
    BodyConfig,
    Evidence,
    choose_body,
)
from crawler.extraction.dates import DateFinder
from crawler.extraction.encoding import decode_html
from crawler.extraction.jsonld import JsonLdArticle, parse_jsonld
from crawler.extraction.links import Anchors
from crawler.extraction.model import Article, ExtractionResult
from crawler.extraction.mojibake import fix_mojibake
from crawler.extraction.page_meta import PageMeta, read_page_meta
from crawler.extraction.text import normalized, words
from crawler.extraction.title import choose_title, strip_site_name

log = logging.getLogger(__name__)

_PARSER = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
# lxml.html picks each element's class in a Python callback (form controls get
# their own classes), paid for every element proxy any extractor touches: about
# a fifth of extraction's CPU. Nothing here reads form fields, so every element
# is a plain HtmlElement, chosen in C; the trees and texts are the same.
_PARSER.set_element_class_lookup(
    lxml.etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement,
        comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity,
    )
)


def parse_html(text: str) -> HtmlElement | None:
    """An lxml tree of the page, or None when there is no markup to speak of."""
    if "<" not in text[:2048]:
        return None
    try:
        tree = lxml.html.document_fromstring(text.replace("\x00", "").encode("utf-8"), _PARSER)
    except (lxml.etree.ParserError, ValueError):
        return None
    return tree if tree.find("body") is not None or len(tree) else None


_HIDDEN = lxml.etree.XPath(
    "//template | //*[@hidden] | //*[@aria-hidden='true'][not(descendant::p)]"
    " | //*[contains(translate(@style, 'DISPLAYNOE: ', 'displaynoe'), 'display:none')]"
)


def drop_hidden(tree: HtmlElement) -> None:
    """Remove what a browser never shows: inert templates and hidden elements."""
    for el in _HIDDEN(tree):
        if el.getparent() is not None:
            el.drop_tree()


_UNREADABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff]")
MAX_GARBAGE_SHARE = 0.02


def garbage_share(text: str) -> float:
    """Share of characters no real article contains: controls, replacements, private use."""
    return len(_UNREADABLE.findall(text)) / len(text) if text else 0.0


# A body whose words are mostly link text is a link list (an index, a tag page, a
# hostile page of 200,000 links), not an article: it would match every topic.
MAX_LINK_SHARE = 0.5


def link_share(paragraphs: list[str], anchors: Anchors) -> float:
    """Share of the text's words that are the text of one of the page's links."""
    return anchors.share(" ".join(paragraphs)) if anchors else 0.0


def fetch_time(headers: Mapping[str, str] | None) -> datetime:
    """The server's Date header when it is usable, else now: the bound for 'future' dates."""
    for key, value in (headers or {}).items():
        if key.lower() == "date":
            try:
                parsed = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                break
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def _title(meta: PageMeta, jsonld: JsonLdArticle | None, url: str | None) -> str | None:
    h1 = meta.h1[:1] if len(meta.h1) <= 2 else []
    candidates = [
        jsonld.headline if jsonld else None,
        meta.first("og:title"),
        meta.first("twitter:title"),
        *h1,
        meta.title_tag,
    ]
    host = urlsplit(url or meta.canonical or "").hostname or ""
    sites = [
        meta.first("og:site_name", "application-name") or "",
        jsonld.publisher if jsonld and jsonld.publisher else "",
        host.removeprefix("www.").split(".")[0],
    ]
    shown = _shown_headline(h1, meta.title_tag, sites)
    return choose_title([shown] if shown else candidates, sites)


def _shown_headline(h1: list[str], title_tag: str | None, sites: list[str]) -> str | None:
    """The page's h1 when its <title> repeats it: the headline readers see.

    Social titles (og:title, twitter:title, often mirrored in JSON-LD) are
    rewritten for sharing; an h1 that the <title> also carries is the page's
    own headline, unless it is the site's name in a logo heading.
    """
    if not h1 or not title_tag:
        return None
    norm = normalized(h1[0])
    if len(norm.split()) < 3:
        return None
    return h1[0] if norm in normalized(strip_site_name(title_tag, sites)) else None


def _site_names(page: _Page) -> list[str]:
    host = urlsplit(page.url or page.meta.canonical or "").hostname or ""
    return [
        page.meta.first("og:site_name", "application-name") or "",
        page.jsonld.publisher if page.jsonld and page.jsonld.publisher else "",
        host.removeprefix("www.").split(".")[0],
    ]


def _absolute(value: str | None, url: str | None) -> str | None:
    if not value:
        return None
    return urljoin(url, value) if url else value


@dataclass(frozen=True)
class _Page:
    tree: HtmlElement
    encoding: str
    meta: PageMeta
    jsonld: JsonLdArticle | None
    url: str | None


def _read(html: bytes, url: str | None, headers: Mapping[str, str] | None) -> _Page | str:
    if not html or not html.strip():
        return "empty document: nothing was fetched"
    text, encoding = decode_html(html, headers)
    tree = parse_html(text)
    if tree is None:
        return f"not an HTML page ({encoding}, {len(html)} bytes)"
    return _Page(tree, encoding, read_page_meta(tree, url), parse_jsonld(tree), url)


def page_evidence(page: _Page, title: str | None) -> Evidence:
    """The body candidates' inputs for one page (hidden markup removed first)."""
    meta, jsonld = page.meta, page.jsonld
    drop_hidden(page.tree)
    return Evidence(
        page.tree,
        page.url,
        jsonld_body=jsonld.body if jsonld else None,
        titles=[t for t in (title, meta.first("og:title"), meta.title_tag, *meta.h1) if t],
        summaries=meta.all("og:description", "description", "twitter:description"),
    )


def _body(page: _Page, title: str | None, config: BodyConfig) -> Body | str:
    evidence = page_evidence(page, title)
    body = choose_body(evidence, config)
    if body is None:
        return (
            f"no article text found: main-content extraction gave "
            f"{_count(evidence.run(config.mode, config.compare))} words, "
            f"readability {_count(evidence.reference)}, JSON-LD articleBody "
            f"{'present' if evidence.jsonld_body else 'absent'} "
            f"(an article needs at least {MIN_BODY_WORDS} words)"
        )
    linked = link_share(body.paragraphs, evidence.anchors)
    if linked > MAX_LINK_SHARE:
        return (
            f"the text is a list of links, not an article ({linked:.0%} of its words are link text)"
        )
    share = garbage_share(body.text)
    if share > MAX_GARBAGE_SHARE:
        return (
            f"text is not readable ({page.encoding} decoding left {share:.0%} control or "
            "replacement characters): binary or wrongly encoded content"
        )
    return body


def _language(page: _Page, body: str, headers: Mapping[str, str] | None) -> str | None:
    declared = (
        (page.jsonld.language if page.jsonld else None)
        or page.meta.html_lang
        or page.meta.first("og:locale", "language", "content-language", "dc.language")
        or _header(headers, "content-language")
    )
    return detect_language(body, normalize_language(declared))


def _links(page: _Page) -> dict[str, str | None]:
    meta, jsonld, url = page.meta, page.jsonld, page.url
    canonical = meta.canonical or _absolute(meta.first("og:url"), url)
    canonical = canonical or _absolute(jsonld.url if jsonld else None, url) or url
    image = meta.first("og:image", "og:image:url", "twitter:image")
    image = image or (jsonld.image if jsonld else None)
    return {"canonical_url": canonical, "image_url": _absolute(image, url)}


def _texts(page: _Page) -> dict[str, str | None]:
    meta, jsonld = page.meta, page.jsonld
    description = meta.first("og:description", "description", "twitter:description")
    description = description or (jsonld.description if jsonld else None)
    site_name = meta.first("og:site_name", "application-name")
    site_name = site_name or (jsonld.publisher if jsonld else None)
    return {
        "description": fix_mojibake(description) if description else None,
        "site_name": fix_mojibake(site_name) if site_name else None,
    }


def extract_article(
    html: bytes,
    url: str | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    body_config: BodyConfig = DEFAULT_CONFIG,
) -> ExtractionResult:
    """Extract the article on a fetched page; failures come back as a result with ``error``.

    ``body_config`` exists for the benchmark; callers keep the default.
    """
    page = _read(html, url, headers)
    if isinstance(page, str):
        return ExtractionResult.failure(page)
    title = _title(page.meta, page.jsonld, url)
    body = _body(page, title, body_config)
    if isinstance(body, str):
        return ExtractionResult.failure(body)
    published, modified = DateFinder(fetch_time(headers)).find(page.tree, page.meta, page.jsonld)
    article = Article(
        title=title,
        body=body.text,
        authors=find_authors(page.tree, page.meta, page.jsonld, _site_names(page)),
        published=published,
        modified=modified,
        language=_language(page, body.text, headers),
        method=body.method,
        encoding=page.encoding,
        **_links(page),
        **_texts(page),
    )
    return ExtractionResult.success(article)


def _count(paragraphs: list[str]) -> int:
    return sum(len(words(p)) for p in paragraphs)
