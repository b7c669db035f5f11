"""Turn matched stories into a digest message: one entry per event, HTML and text.

An event is every report of one happening (crawler/events): copies of one
text, rewrites by other outlets, reports in other languages. Its entry leads
with the event's headline report and lists who else reported it, with links;
stories stored before events existed are grouped by their near-duplicate
cluster instead.

Stored text is untrusted: templates autoescape everything, links are only
ever the story's own http(s) URL or our own pages, and no external image or
script is used (the footer chart of a weekly digest travels inside the
message, see ``alerts.digestchart``). Highlighted words come from running the topic query on the
story again, so they are the words that made it match.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from functools import cache, lru_cache
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from core import i18n, limits
from core.errors import QueryError
from core.query import Document, Query, analyze_document, parse
from core.settings import Settings
from core.translatable import N_
from db import deliveries
from db.models import VIA_QUERY, Story, Subscription, Topic, TopicMatch
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from alerts.digestchart import DigestChart
from alerts.highlight import Part, Terms, highlight, plain, snippet, terms_from_hits
from alerts.schedule import zone
from alerts.senders import OutgoingMessage
from alerts.senders.message import new_message_id
from alerts.tokens import Tokens

ORDERINGS = ("newest", "coverage")
# How often a digest comes, as its messages say it ("daily digest"): the
# templates translate the subscription's frequency with these words.
FREQUENCY_WORDS = (N_("instant"), N_("hourly"), N_("daily"), N_("weekly"))
_LIST_ID_UNSAFE = re.compile(r"[^A-Za-z0-9-]+")


@dataclass(frozen=True)
class Candidate:
    """A story to put in a digest; ``previous_title`` is set for an update of one already sent."""

    story: Story
    match: TopicMatch
    previous_title: str | None = None
    # The headline the subscriber was sent for this story's event, when this
    # report adds a development to it (alerts.digest.events_already_sent).
    development_of: str | None = None
    # The headline the subscriber was sent for the earlier event this story's
    # event develops (alerts.digest.updates_of_sent_events).
    update_to: str | None = None


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
    development_of: str | None = None
    update_to: str | None = None
    # (outlet, language, address) of the other outlets' reports of the event.
    also_links: list[tuple[str, str, str]] = field(default_factory=list)
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


MAX_ALSO_LINKS = 8


def group_key(story: Story) -> tuple[str, int]:
    """What one digest entry stands for: the story's event, else its cluster, else itself."""
    if story.event_id is not None:
        return ("event", story.event_id)
    if story.cluster_id is not None:
        return ("cluster", story.cluster_id)
    return ("story", story.id)


@dataclass(frozen=True)
class Coverage:
    """Who else reported each event (or cluster), with links, and the outlets' names.

    Read once for all the entries of a digest (new and updated alike), not once
    per entry: a flood of a thousand events costs a few statements, not a thousand.
    """

    # cluster id -> (source id, language) of each of its stories
    reports: Mapping[int, Sequence[tuple[int | None, str | None]]]
    names: Mapping[int, str]
    # event id -> (story id, source id, language, address) of each report, earliest first
    events: Mapping[int, Sequence[tuple[int, int | None, str | None, str]]] = field(
        default_factory=dict
    )
    leads: Mapping[int, int] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, candidates: Iterable[Candidate]) -> Coverage:
        stories = [candidate.story for candidate in candidates]
        event_ids = {story.event_id for story in stories if story.event_id is not None}
        clusters = {
            story.cluster_id
            for story in stories
            if story.event_id is None and story.cluster_id is not None
        }
        events = deliveries.event_reports(session=session, event_ids=event_ids)
        sources = {story.source_id for story in stories if story.source_id is not None}
        sources |= {src for rows in events.values() for _, src, _, _ in rows if src is not None}
        return cls(
            reports=deliveries.cluster_reports(session=session, cluster_ids=clusters),
            names=deliveries.source_names(session=session, source_ids=sources),
            events=events,
            leads=deliveries.event_leads(session=session, event_ids=event_ids),
        )

    def source_name(self, source_id: int | None) -> str:
        return self.names.get(source_id, "") if source_id is not None else ""

    def lead(self, group: Sequence[Candidate]) -> Candidate:
        """The event's headline report when it is among these candidates, else the earliest."""
        event_id = group[0].story.event_id
        lead_id = self.leads.get(event_id) if event_id is not None else None
        return next((c for c in group if c.story.id == lead_id), group[0])

    def fill(self, entry: DigestEntry) -> None:
        """Set how many other outlets, in which languages, reported the entry's event."""
        story = entry.story
        if story.event_id is not None:
            reports = self.events.get(story.event_id, ())
            seen = {story.source_id}
            languages: Counter[str] = Counter()
            for _, source_id, language, url in reports:
                if source_id in seen:
                    continue
                seen.add(source_id)
                languages[language or "?"] += 1
                if len(entry.also_links) < MAX_ALSO_LINKS and url.startswith(
                    ("http://", "https://")
                ):
                    entry.also_links.append((self.source_name(source_id), language or "?", url))
            entry.also_outlets = len(seen) - 1
            entry.also_languages = dict(languages)
            return
        if story.cluster_id is None:
            return
        rows = self.reports.get(story.cluster_id, ())
        others = {(src, lang) for src, lang in rows if src != story.source_id}
        entry.also_outlets = len({src for src, _ in others})
        entry.also_languages = dict(Counter(lang or "?" for _, lang in others))


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
    coverage: Coverage | None = None,
) -> list[DigestEntry]:
    """One entry per event (its headline report leads), in the subscriber's chosen order.

    Only the first ``explain`` entries (all by default) get highlights and a fresh
    "why" line: re-running the query is the costly part, and a digest capped at
    50 entries need not analyse the 5,000 stories of a flood. Pass ``coverage``
    loaded for all of a message's candidates when it is built in several calls.
    """
    if coverage is None:
        coverage = Coverage.load(session, candidates)
    groups: dict[tuple[str, int], list[Candidate]] = {}
    for candidate in candidates:
        groups.setdefault(group_key(candidate.story), []).append(candidate)
    query = _parsed(topic.query)
    entries: list[DigestEntry] = []
    for group in groups.values():
        group.sort(key=lambda c: (_when(c.story), c.story.id))
        lead = coverage.lead(group)
        entry = DigestEntry(
            story=lead.story,
            source_name=coverage.source_name(lead.story.source_id),
            why=list(lead.match.why),
            copies=[c.story for c in group if c is not lead],
            updated=updated,
            previous_title=_clipped_title(lead.previous_title) if updated else None,
            development_of=_clipped_title(
                next((c.development_of for c in group if c.development_of), None)
            ),
            update_to=_clipped_title(next((c.update_to for c in group if c.update_to), None)),
            via=lead.match.via or VIA_QUERY,
        )
        coverage.fill(entry)
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
    entry.title_parts = highlight(limits.clip(story.title, limits.TITLE_CHARS), terms)
    entry.snippet_parts = snippet([story.summary, story.body], terms)


def _clipped_title(title: str | None) -> str | None:
    """Titles stored before fields had limits may be any size: a message shows at most this."""
    return limits.clip(title, limits.TITLE_CHARS) if title else title


def _when(story: Story) -> datetime:
    return story.published_at or story.fetched_at


@cache
def _environment(locale: str) -> Environment:
    """The email templates in one language (one environment each: see core.i18n.install)."""
    environment = Environment(
        loader=PackageLoader("alerts", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return i18n.install(environment, locale)


def render(template: str, locale: str = "en", **context: Any) -> str:
    """One of the email templates in ``alerts/templates``, in ``locale``."""
    return _environment(locale).get_template(template).render(**context)


def subject_for(new: int, topic_name: str, updated: int = 0, *, locale: str = "en") -> str:
    """Says what is inside: "3 new stories: …", "2 new stories, 1 updated: …"."""
    t = i18n.translations(locale)
    parts = []
    if new:
        parts.append(t.ngettext("%(num)s new story", "%(num)s new stories", new) % {"num": new})
    if updated:
        if new:
            parts.append(t.gettext("%(num)s updated") % {"num": updated})
        else:
            parts.append(
                t.ngettext("%(num)s updated story", "%(num)s updated stories", updated)
                % {"num": updated}
            )
    return f"{', '.join(parts) or t.gettext('No new stories')}: {topic_name}"


def local_time(tz: ZoneInfo, locale: str = "en") -> Callable[[datetime | None], str]:
    """Times in the subscriber's zone and language: "28 Nov 2026, 11:05 +05"."""

    def fmt(moment: datetime | None) -> str:
        return i18n.format_datetime(moment, locale, tz=tz)

    return fmt


def links(settings: Settings, tokens: Tokens, sub: Subscription) -> dict[str, str]:
    """Every URL a message about this subscription carries."""
    base = settings.base_url.rstrip("/")
    unsubscribe = tokens.unsubscribe(sub.unsubscribe_token)
    result = {
        "unsubscribe": f"{base}/u/{unsubscribe}",
        "archive": f"{base}/",
        "topic_page": f"{base}/topics/{quote(sub.topic.slug)}",
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
    chart: DigestChart | None = None,
) -> OutgoingMessage:
    """The digest message; with ``chart``, its footer shows the topic's stories per day."""
    tz = zone(sub.subscriber.timezone)
    locale = i18n.usable(sub.subscriber.locale, settings.default_locale)
    urls = links(settings, tokens, sub)
    message_id = new_message_id(settings.mail_from)
    # Named after the message, so no two messages' pictures share an id.
    images = (chart.image(f"chart.{message_id.strip('<>')}"),) if chart else ()
    context = {
        "topic": sub.topic,
        "content": content,
        "frequency": sub.frequency.value,
        "urls": urls,
        "base_url": settings.base_url.rstrip("/"),
        "generated": now.astimezone(tz),
        "local": local_time(tz, locale),
        "plain": plain,
        "feedback_url": feedback_urls(settings, tokens, sub),
        "chart": chart,
        "chart_src": images[0].src if images else None,
    }
    _, _, domain = parseaddr(settings.mail_from)[1].rpartition("@")
    return OutgoingMessage(
        to=sub.subscriber.email,
        from_addr=settings.mail_from,
        subject=subject_for(len(content.new), sub.topic.name, len(content.updated), locale=locale),
        text=render("digest.txt", locale, **context),
        html=render("digest.html", locale, **context),
        headers={
            "List-Unsubscribe": f"<{urls['unsubscribe']}>, <{urls['unsubscribe_mailto']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"<{_LIST_ID_UNSAFE.sub('-', sub.topic.slug)}.digests.{domain or 'localhost'}>",
        },
        custom_args={"digest_id": str(digest_id), "subscription_id": str(sub.id)},
        message_id=message_id,
        inline_images=images,
    )
