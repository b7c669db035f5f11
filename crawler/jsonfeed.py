"""JSON Feed (https://jsonfeed.org, versions 1 and 1.1), read into the shape feedparser gives.

feedparser reads RSS, Atom and RDF but not JSON Feed, which some outlets
publish instead; adding a source finds such feeds (``wirewatch.sourcecheck``),
so the crawler must read them too. Each item becomes a dict with feedparser's
keys, so ``crawler.feeds`` turns it into a ``FeedEntry`` like any other entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

VERSION_PREFIX = "https://jsonfeed.org/version/"


@dataclass(frozen=True)
class JsonFeed:
    title: str
    language: str | None
    items: list[dict[str, Any]]


def read_json_feed(body: bytes) -> JsonFeed | None:
    """The feed, or None when ``body`` is not a JSON Feed document."""
    if not body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return None
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(VERSION_PREFIX):
        return None
    items = data.get("items")
    raws = (
        [_item(item) for item in items if isinstance(item, dict)] if isinstance(items, list) else []
    )
    language = data.get("language")
    return JsonFeed(
        title=str(data.get("title") or ""),
        language=str(language) if language else None,
        items=raws,
    )


def _item(item: dict[str, Any]) -> dict[str, Any]:
    authors = item.get("authors")
    if not isinstance(authors, list):
        single = item.get("author")  # version 1
        authors = [single] if isinstance(single, dict) else []
    content = item.get("content_html") or item.get("content_text") or ""
    raw: dict[str, Any] = {
        "id": item.get("id"),
        "link": item.get("url") or item.get("external_url"),
        "title": item.get("title") or "",
        "summary": item.get("summary") or "",
        "content": [{"value": content}] if content else [],
        "authors": [{"name": a.get("name", "")} for a in authors if isinstance(a, dict)],
    }
    if item.get("date_published"):
        raw["published"] = str(item["date_published"])
    if item.get("date_modified"):
        raw["updated"] = str(item["date_modified"])
    return raw
