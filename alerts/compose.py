"""Turn matched stories into a digest message: one entry per story cluster, HTML and text.

Stored text is untrusted: templates autoescape everything, links are only
ever the story's own http(s) URL or our own pages, and no external image or
script is used. Highlighted words come from running the topic query on the
story again, so they are the words that made it match.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from functools import lru_cache
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from core.errors import QueryError
from core.query import Document, Query, analyze_document, parse
from core.settings import Settings
from db.models import VIA_QUERY, Source, Story, Subscription, Topic, TopicMatch
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.highlight import Part, Terms, highlight, plain, snippet, terms_from_hits
from alerts.schedule import zone
from alerts.senders import OutgoingMessage
from alerts.senders.message import new_message_id
from alerts.tokens import Tokens

ORDERINGS = ("newest", "coverage")
_LIST_ID_UNSAFE = re.compile(r"[^A-Za-z0-9-]+")
LANGUAGES = {"ru": "Russian", "tg": "Tajik", "en": "English", "uz": "Uzbek", "ky": "Kyrgyz"}


@dataclass(frozen=True)
class Candidate:
    """A story to put in a digest; ``previous_title`` is set for an update of one already sent."""

    story: Story
    match: TopicMatch
    previous_title: str | None = None


@dataclass
class DigestEntry:
    story: Story
    source_name: str
    why: list[str]
    copies: list[Story] = field(default_factory=list)
    also_outlets: int = 0
    also_languages: dict[str, int] = field(default_factory=dict)
    title_parts: list[Part] = field(default_factory=list)
    snippet_parts: list[Part] = field(default_factory=list)
    updated: bool = False
    previous_title: str | None = None
    # "model" when the topic's relevance model added the story (the query missed it).
    via: str = VIA_QUERY

    @property
    def all_stories(self) -> list[Story]:
        return [self.story, *self.copies]

    @property
    def when(self) -> datetime:
        return self.story.published_at or self.story.fetched_at

    @property
    def snippet(self) -> str:
        return plain(self.snippet_parts)

    @property
    def language_name(self) -> str:
        code = (self.story.language or "").lower()
        return LANGUAGES.get(code, code)

    @property
    def safe_url(self) -> str | None:
        url = self.story.canonical_url or self.story.url
        return url if url.startswith(("http://", "https://")) else None


@dataclass
class DigestContent:
    """What one digest says: new entries, updated entries, and how many stories wait."""

    new: list[DigestEntry] = field(default_factory=list)
    updated: list[DigestEntry] = field(default_factory=list)
    more: int = 0

    @property
    def entries(self) -> list[DigestEntry]:
        return [*self.new, *self.updated]

    @property
    def stories(self) -> list[Story]:
        return [story for entry in self.entries for story in entry.all_stories]

    def __bool__(self) -> bool:
        return bool(self.new or self.updated)


@lru_cache(maxsize=64)
def _parsed(query_text: str) -> Query | None:
    try:
        return parse(query_text)
    except QueryError:
        return None  # stored topics are validated when saved; keep the stored "why"


def build_entries(
    session: Session,
    topic: Topic,
    candidates: Sequence[Candidate],
    *,
    ordering: str = "newest",
    updated: bool = False,
    explain: int | None = None,
) -> list[DigestEntry]:
    """One entry per cluster (its earliest story leads), in the subscriber's chosen order.

    Only the first ``explain`` entries (all by default) get highlights and a fresh
    "why" line: re-running the query is the costly part, and a digest capped at
    50 entries need not analyse the 5,000 stories of a flood.
    """
    by_cluster: dict[object, list[Candidate]] = {}
    for candidate in candidates:
        story = candidate.story
        key = story.cluster_id if story.cluster_id is not None else ("story", story.id)
        by_cluster.setdefault(key, []).append(candidate)
    query = _parsed(topic.query)
    names: dict[int | None, str] = {}
    entries: list[DigestEntry] = []
    for group in by_cluster.values():
        group.sort(key=lambda c: (_when(c.story), c.story.id))
        lead = group[0]
        if lead.story.source_id not in names:
            names[lead.story.source_id] = _source_name(session, lead.story.source_id)
        entry = DigestEntry(
            story=lead.story,
            source_name=names[lead.story.source_id],
            why=list(lead.match.why),
            copies=[c.story for c in group[1:]],
            updated=updated,
            previous_title=lead.previous_title if updated else None,
            via=lead.match.via or VIA_QUERY,
        )
        _cluster_coverage(session, entry)
        entries.append(entry)
    ordered = order_entries(entries, ordering)
    for entry in ordered[:explain]:
        _explain(entry, query)
    return ordered


def order_entries(entries: list[DigestEntry], ordering: str) -> list[DigestEntry]:
    if ordering == "coverage":
        return sorted(
            entries,
            key=lambda e: (e.also_outlets, e.when, e.story.id),
            reverse=True,
        )
    return sorted(entries, key=lambda e: (e.when, e.story.id), reverse=True)


def _explain(entry: DigestEntry, query: Query | None) -> None:
    story = entry.story
    terms = Terms()
    if query is not None:
        result = query.match(
            analyze_document(
                Document(
                    title=story.title,
                    text=story.body or story.summary,
                    lang=story.language,
                    source=entry.source_name or None,
                    url=story.canonical_url,
                )
            )
        )
        terms = terms_from_hits(result.hits)
        entry.why = result.why or entry.why
    entry.title_parts = highlight(story.title, terms)
    entry.snippet_parts = snippet([story.summary, story.body], terms)


def _when(story: Story) -> datetime:
    return story.published_at or story.fetched_at


def _source_name(session: Session, source_id: int | None) -> str:
    if source_id is None:
        return ""
    source = session.get(Source, source_id)
    return source.name if source is not None else ""


def _cluster_coverage(session: Session, entry: DigestEntry) -> None:
    if entry.story.cluster_id is None:
        return
    rows = session.execute(
        select(Story.source_id, Story.language).where(Story.cluster_id == entry.story.cluster_id)
    ).all()
    others = {(src, lang) for src, lang in rows if src != entry.story.source_id}
    entry.also_outlets = len({src for src, _ in others})
    entry.also_languages = dict(Counter(lang or "?" for _, lang in others))


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("alerts", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **context: Any) -> str:
    """One of the email templates in ``alerts/templates``."""
    return _environment().get_template(template).render(**context)


def subject_for(new: int, topic_name: str, updated: int = 0) -> str:
    """Says what is inside: "3 new stories: …", "2 new stories, 1 updated: …"."""
    parts = []
    if new:
        parts.append(f"{new} new {'story' if new == 1 else 'stories'}")
    if updated:
        noun = "" if new else (" story" if updated == 1 else " stories")
        parts.append(f"{updated} updated{noun}")
    return f"{', '.join(parts) or 'No new stories'}: {topic_name}"


def local_time(tz: ZoneInfo) -> Callable[[datetime | None], str]:
    def fmt(moment: datetime | None) -> str:
        if moment is None:
            return ""
        local = moment.astimezone(tz)
        return f"{local:%d %b %Y, %H:%M} {local.tzname() or ''}".strip()

    return fmt


def links(settings: Settings, tokens: Tokens, sub: Subscription) -> dict[str, str]:
    """Every URL a message about this subscription carries."""
    base = settings.base_url.rstrip("/")
    unsubscribe = tokens.unsubscribe(sub.unsubscribe_token)
    result = {
        "unsubscribe": f"{base}/u/{unsubscribe}",
        "archive": f"{base}/",
        "topic_feed": f"{base}/topics/{quote(sub.topic.slug)}/atom.xml",
        "unsubscribe_mailto": _mailto(settings, unsubscribe),
    }
    if sub.subscriber.token:
        result["preferences"] = f"{base}/preferences/{tokens.preferences(sub.subscriber.token)}"
    return result


def feedback_urls(
    settings: Settings, tokens: Tokens, sub: Subscription
) -> Callable[[int, bool], str] | None:
    """The signed "relevant" / "not relevant" link of a story, for this subscriber and topic."""
    secret = sub.subscriber.token
    if not secret:
        return None
    base = settings.base_url.rstrip("/")

    def url(story_id: int, relevant: bool) -> str:
        return f"{base}/feedback/{tokens.feedback(secret, sub.topic_id, story_id, relevant)}"

    return url


def _mailto(settings: Settings, token: str) -> str:
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
    return f"mailto:unsubscribe@{domain}?subject=unsubscribe%20{token}"


def compose_digest(
    settings: Settings,
    sub: Subscription,
    content: DigestContent,
    *,
    digest_id: int,
    now: datetime,
    tokens: Tokens,
) -> OutgoingMessage:
    tz = zone(sub.subscriber.timezone)
    urls = links(settings, tokens, sub)
    context = {
        "topic": sub.topic,
        "content": content,
        "frequency": sub.frequency.value,
        "urls": urls,
        "base_url": settings.base_url.rstrip("/"),
        "generated": now.astimezone(tz),
        "local": local_time(tz),
        "plain": plain,
        "feedback_url": feedback_urls(settings, tokens, sub),
    }
    _, _, domain = parseaddr(settings.mail_from)[1].rpartition("@")
    return OutgoingMessage(
        to=sub.subscriber.email,
        from_addr=settings.mail_from,
        subject=subject_for(len(content.new), sub.topic.name, len(content.updated)),
        text=render("digest.txt", **context),
        html=render("digest.html", **context),
        headers={
            "List-Unsubscribe": f"<{urls['unsubscribe']}>, <{urls['unsubscribe_mailto']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"<{_LIST_ID_UNSAFE.sub('-', sub.topic.slug)}.digests.{domain or 'localhost'}>",
        },
        custom_args={"digest_id": str(digest_id), "subscription_id": str(sub.id)},
        message_id=new_message_id(settings.mail_from),
    )
