"""Turn matched stories into a digest message: entries per story cluster, HTML and text.

Stored text is untrusted: templates autoescape everything, links are only
ever the story's own http(s) URL, and no external image or script is used.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.schedule import zone
from alerts.senders import OutgoingMessage
from alerts.senders.message import new_message_id
from db.models import Source, Story, Subscription, TopicMatch
from wirewatch.settings import Settings

SNIPPET_CHARS = 320


@dataclass
class DigestEntry:
    story: Story
    source_name: str
    why: list[str]
    copies: list[Story] = field(default_factory=list)
    also_outlets: int = 0
    also_languages: dict[str, int] = field(default_factory=dict)

    @property
    def all_stories(self) -> list[Story]:
        return [self.story, *self.copies]

    @property
    def snippet(self) -> str:
        text = self.story.summary or self.story.body
        text = " ".join(text.split())
        if len(text) <= SNIPPET_CHARS:
            return text
        return text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"

    @property
    def safe_url(self) -> str | None:
        url = self.story.canonical_url or self.story.url
        return url if url.startswith(("http://", "https://")) else None


def entries_for(
    session: Session, sub: Subscription, candidates: list[tuple[Story, TopicMatch]]
) -> list[DigestEntry]:
    """One entry per cluster, the earliest story first in its entry, newest entries first."""
    by_cluster: dict[object, list[tuple[Story, TopicMatch]]] = {}
    for story, match in candidates:
        key = story.cluster_id if story.cluster_id is not None else ("story", story.id)
        by_cluster.setdefault(key, []).append((story, match))
    entries: list[DigestEntry] = []
    for group in by_cluster.values():
        group.sort(key=lambda pair: (_when(pair[0]), pair[0].id))
        lead, lead_match = group[0]
        entry = DigestEntry(
            story=lead,
            source_name=_source_name(session, lead.source_id),
            why=list(lead_match.why),
            copies=[story for story, _ in group[1:]],
        )
        _cluster_coverage(session, entry)
        entries.append(entry)
    entries.sort(key=lambda e: (_when(e.story), e.story.id), reverse=True)
    return entries


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
        autoescape=select_autoescape(["html", "j2.html"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def subject_for(count: int, topic_name: str) -> str:
    noun = "story" if count == 1 else "stories"
    return f"{count} new {noun}: {topic_name}"


def compose_digest(
    settings: Settings,
    sub: Subscription,
    entries: list[DigestEntry],
    *,
    digest_id: int,
    now: datetime,
) -> OutgoingMessage:
    tz = zone(sub.subscriber.timezone)
    base = settings.base_url.rstrip("/")
    unsubscribe_url = f"{base}/u/{sub.unsubscribe_token}"
    context = {
        "topic": sub.topic,
        "entries": entries,
        "tz": tz,
        "frequency": sub.frequency.value,
        "unsubscribe_url": unsubscribe_url,
        "archive_url": f"{base}/",
        "generated": now.astimezone(tz),
        "local": lambda dt: dt.astimezone(tz).strftime("%d %b %Y, %H:%M") if dt else "",
    }
    env = _environment()
    html = env.get_template("digest.html").render(**context)
    text = env.get_template("digest.txt").render(**context)
    _, _, domain = settings.mail_from.rpartition("@")
    mailto = f"mailto:unsubscribe@{domain.rstrip('>') or 'localhost'}?subject=unsubscribe%20{sub.unsubscribe_token}"
    return OutgoingMessage(
        to=sub.subscriber.email,
        from_addr=settings.mail_from,
        subject=subject_for(len(entries), sub.topic.name),
        text=text,
        html=html,
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>, <{mailto}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        custom_args={"digest_id": str(digest_id)},
        message_id=new_message_id(settings.mail_from),
    )
