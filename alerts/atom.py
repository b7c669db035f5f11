"""An Atom 1.0 feed per topic: the latest matching stories, one entry per event.

Feed readers and chat tools that poll feeds get the same entries as the
digest (the "why it matched" line and "also reported by" included, the event
id as a category and the other reports as related links), without
a subscription. Story text is stored untrusted, so the feed carries it as
plain text only, with characters XML cannot hold removed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import quote

from core.settings import Settings
from db import deliveries, queries
from sqlalchemy.orm import Session

from alerts.compose import Candidate, DigestEntry, build_entries

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def feed_url(settings: Settings, slug: str) -> str:
    return f"{settings.base_url.rstrip('/')}/topics/{quote(slug)}/atom.xml"


def topic_feed(session: Session, settings: Settings, slug: str, *, limit: int = 50) -> bytes:
    """The feed document; raises NotFoundError for an unknown topic."""
    topic = queries.get_topic(session=session, slug=slug)
    rows = deliveries.latest_matches(session=session, topic_id=topic.id, limit=limit * 3)
    entries = build_entries(session, topic, [Candidate(s, m) for s, m in rows])[:limit]
    base = settings.base_url.rstrip("/")
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(_tag("feed"))
    _text(feed, "id", feed_url(settings, slug))
    _text(feed, "title", topic.name)
    if topic.definition:
        _text(feed, "subtitle", topic.definition)
    _link(feed, feed_url(settings, slug), rel="self", type="application/atom+xml")
    _link(feed, f"{base}/", rel="alternate", type="text/html")
    updated = max((_updated(e) for e in entries), default=topic.updated_at)
    _text(feed, "updated", _iso(updated))
    generator = _text(feed, "generator", "wirewatch")
    generator.set("uri", base)
    for entry in entries:
        feed.append(_entry(entry, base))
    ET.indent(feed)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


def _entry(entry: DigestEntry, base: str) -> ET.Element:
    story = entry.story
    element = ET.Element(_tag("entry"))
    archive = f"{base}/stories/{story.id}"
    _text(element, "id", archive)
    _text(element, "title", story.title or "(untitled)")
    _link(element, entry.safe_url or archive, rel="alternate")
    if entry.safe_url:
        _link(element, archive, rel="related")
    _text(element, "updated", _iso(_updated(entry)))
    if story.published_at:
        _text(element, "published", _iso(story.published_at))
    author = ET.SubElement(element, _tag("author"))
    _text(author, "name", entry.source_name or "unknown outlet")
    if story.language:
        ET.SubElement(element, _tag("category"), {"term": story.language})
    if story.event_id is not None:
        # The event as a category in the site's events scheme, and each other
        # outlet's report of it as a related link, as the JSON API carries them.
        ET.SubElement(
            element,
            _tag("category"),
            {"scheme": f"{base}/events/", "term": str(story.event_id), "label": "event"},
        )
    for outlet, language, url in entry.also_links:
        _link(element, url, rel="related", title=f"{outlet} ({language})")
    lines = [entry.snippet] if entry.snippet else []
    if entry.why:
        lines.append("Why it matched: " + "; ".join(entry.why))
    if entry.also_outlets:
        noun = "outlet" if entry.also_outlets == 1 else "outlets"
        lines.append(f"Also reported by {entry.also_outlets} {noun}.")
    summary = _text(element, "summary", "\n".join(lines))
    summary.set("type", "text")
    return element


def _updated(entry: DigestEntry) -> datetime:
    story = entry.story
    return story.updated_at or story.published_at or story.fetched_at


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _tag(name: str) -> str:
    return f"{{{ATOM_NS}}}{name}"


def _text(parent: ET.Element, name: str, value: str) -> ET.Element:
    child = ET.SubElement(parent, _tag(name))
    child.text = _NOT_XML.sub("", value)
    return child


def _link(parent: ET.Element, href: str, **attrs: str) -> None:
    ET.SubElement(parent, _tag("link"), {"href": _NOT_XML.sub("", href), **attrs})
