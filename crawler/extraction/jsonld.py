"""schema.org JSON-LD: the publisher's own statement of headline, dates, authors and body.

Real pages ship broken JSON-LD (trailing commas, raw newlines in strings,
HTML comments around the script, several objects pasted together), so each
block is parsed leniently and a block that still does not parse is skipped,
never fatal: the rest of the page carries the same facts less precisely.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml.html import HtmlElement

ARTICLE_TYPES = frozenset(
    {
        "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle",
        "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle", "blogposting",
        "socialmediaposting", "liveblogposting", "report", "scholarlyarticle", "techarticle",
        "webpage", "itempage",
    }
)  # fmt: skip
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_WRAPPERS = re.compile(r"^\s*(?:<!--|<!\[CDATA\[|//\s*<!\[CDATA\[)|(?:-->|\]\]>|//\s*\]\]>)\s*$")


@dataclass(frozen=True)
class JsonLdArticle:
    """The article-like object a page describes, reduced to what extraction uses."""

    headline: str | None = None
    description: str | None = None
    body: str | None = None
    published: str | None = None
    modified: str | None = None
    authors: list[str] = field(default_factory=list)
    publisher: str | None = None
    url: str | None = None
    image: str | None = None
    language: str | None = None
    type: str | None = None


def _loads(raw: str) -> Any:
    try:
        return _lenient_loads(raw)
    except RecursionError:  # absurdly nested input: not worth reading
        return None


def _lenient_loads(raw: str) -> Any:
    text = _WRAPPERS.sub("", raw.strip())
    try:
        return json.loads(text, strict=False)
    except json.JSONDecodeError:
        pass
    try:
        return json.loads(_TRAILING_COMMA.sub(r"\1", text), strict=False)
    except json.JSONDecodeError:
        return _concatenated(text)


def _concatenated(text: str) -> list[Any] | None:
    """Several JSON values pasted into one script, as some CMS plugins do."""
    decoder = json.JSONDecoder(strict=False)
    values: list[Any] = []
    pos = 0
    while pos < len(text):
        while pos < len(text) and text[pos] in " \t\r\n;,":
            pos += 1
        if pos >= len(text):
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return values or None
        values.append(value)
    return values or None


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item)
    elif isinstance(node, dict):
        yield node
        for key in ("@graph", "mainEntity", "itemListElement"):
            if key in node:
                yield from _walk(node[key])


def _types(node: dict[str, Any]) -> list[str]:
    value = node.get("@type")
    values = value if isinstance(value, list) else [value]
    return [v.lower() for v in values if isinstance(v, str)]


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if v), None)
    if isinstance(value, dict):
        value = value.get("@value") or value.get("name") or value.get("url") or value.get("@id")
    if isinstance(value, (int, float)):
        value = str(value)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def _names(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, list):
            names.extend(n for n in name if isinstance(n, str))
        elif isinstance(name, str) and name.strip():
            names.append(name.strip())
    return names


def _image(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        return _text(value.get("url") or value.get("contentUrl"))
    return _text(value)


def _score(node: dict[str, Any]) -> int:
    """Prefer the object that is the page's article over breadcrumbs and site records."""
    kinds = _types(node)
    score = 0
    if any(k in ARTICLE_TYPES and k not in ("webpage", "itempage") for k in kinds):
        score += 4
    elif any(k in ARTICLE_TYPES for k in kinds):
        score += 1
    score += 2 * bool(node.get("articleBody")) + bool(node.get("headline"))
    score += bool(node.get("datePublished"))
    return score


def _blocks(tree: HtmlElement) -> Iterator[Any]:
    for script in tree.iter("script"):
        kind = (script.get("type") or "").lower()
        if "ld+json" in kind and script.text:
            value = _loads(script.text)
            if value is not None:
                yield value


def parse_jsonld(tree: HtmlElement) -> JsonLdArticle | None:
    """The best article-like JSON-LD object on the page, or None when there is none."""
    nodes = [node for block in _blocks(tree) for node in _walk(block)]
    candidates = [n for n in nodes if _score(n) > 0]
    if not candidates:
        return None
    node = max(candidates, key=_score)
    publisher = node.get("publisher")
    main = node.get("mainEntityOfPage")
    return JsonLdArticle(
        headline=_text(node.get("headline")) or _text(node.get("name")),
        description=_text(node.get("description")),
        body=_text(node.get("articleBody")),
        published=_text(node.get("datePublished")) or _text(node.get("dateCreated")),
        modified=_text(node.get("dateModified")),
        authors=_names(node.get("author") or node.get("creator") or []),
        publisher=_text(publisher.get("name")) if isinstance(publisher, dict) else _text(publisher),
        url=_text(node.get("url")) or (_text(main) if main is not None else None),
        image=_image(node.get("image")),
        language=_text(node.get("inLanguage")),
        type=next(iter(_types(node)), None),
    )
