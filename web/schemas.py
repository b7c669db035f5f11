"""JSON shapes of the API (they are its OpenAPI schema)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from alerts.sourcehealth import SourceRow
from core import i18n
from db.models import CrawlRun, Frequency, Source, SourceKind, Subscriber, Topic
from pydantic import BaseModel, Field
from wirewatch import catalog
from wirewatch.archive import SearchHit, SourceHealth, StoryDetail
from wirewatch.events import EventLink, EventView, Report, report_of


class Problem(BaseModel):
    """Every error: a message a person can act on (or FastAPI's list of field errors)."""

    detail: str | list[dict[str, Any]]
    position: int | None = Field(None, description="Where a query stopped parsing (0-based)")


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Token required"},
    404: {"model": Problem, "description": "No such story, event, source, topic or crawl"},
    422: {"model": Problem, "description": "A parameter or the query is not valid"},
}


EVENT = (
    "Its event: the id of the independent reports of one happening (GET /api/events/{id}); "
    "null for a story stored before events, which is its own event"
)


class StoryHit(BaseModel):
    id: int
    title: str
    url: str
    source: str
    language: str | None
    published: datetime
    cluster_id: int | None
    cluster_size: int = Field(description="Stories (outlets) in its cluster, this one included")
    event: int | None = Field(description=EVENT)
    event_reports: int = Field(description="Stories in its event, this one included")
    event_outlets: int = Field(description="Other outlets (sources) that reported its event")
    event_languages: list[str] = Field(
        description="Languages of those other outlets' reports, most frequent first"
    )
    title_html: str = Field(description="Escaped title with <mark> around matched words")
    snippet_html: str = Field(description="Escaped text excerpt with <mark> around matches")
    score: float | None = Field(None, description="Relevance (sort=relevance only)")

    @classmethod
    def of(cls, hit: SearchHit) -> StoryHit:
        story = hit.story
        event = hit.event
        return cls(
            id=story.id,
            title=story.title,
            url=story.canonical_url,
            source=hit.source_name,
            language=story.language,
            published=story.published_at or story.fetched_at,
            cluster_id=story.cluster_id,
            cluster_size=hit.cluster_size,
            event=story.event_id,
            event_reports=event.reports if event is not None else 1,
            event_outlets=event.outlets if event is not None else 0,
            event_languages=list(event.languages) if event is not None else [],
            title_html=str(hit.title_html),
            snippet_html=str(hit.snippet_html),
            score=hit.score,
        )


class StoryPage(BaseModel):
    items: list[StoryHit]
    next_cursor: str | None = Field(
        description="Pass as cursor= for the next page; null at the end"
    )
    exact: bool = Field(description="False when candidates were checked one by one by the matcher")
    pending: int = Field(description="Changed stories not yet searchable (indexing in progress)")


class DayCount(BaseModel):
    day: date
    count: int


class Facets(BaseModel):
    total: int
    exact: bool = Field(
        description="False: includes candidates the matcher did not check (an upper bound)"
    )
    by_day: list[DayCount]
    by_language: dict[str, int]
    since: date | None = Field(
        None,
        description="Null: every match was counted. A day: the time allowed for counting ran "
        "out, and only matches from that day (UTC) on were counted",
    )


class ClusterMember(BaseModel):
    id: int
    title: str
    source: str
    url: str
    language: str | None
    published: datetime


class EventReport(BaseModel):
    id: int
    title: str
    url: str
    source: str
    language: str | None
    published: datetime
    cluster_id: int | None
    lead: bool = Field(description="The event's headline report")
    pinned: bool = Field(description="Placed by an operator: never moved by the placement")

    @classmethod
    def of(cls, report: Report) -> EventReport:
        return cls(
            id=report.story_id,
            title=report.title,
            url=report.url,
            source=report.source,
            language=report.language,
            published=report.when,
            cluster_id=report.cluster_id,
            lead=report.lead,
            pinned=report.pinned,
        )


class EventRef(BaseModel):
    id: int
    lead: int | None = Field(description="Its headline report's story id")
    title: str

    @classmethod
    def of(cls, link: EventLink) -> EventRef:
        return cls(id=link.event_id, lead=link.story_id, title=link.title)


class EventOut(BaseModel):
    id: int
    size: int = Field(description="Reports (stories) in the event")
    outlets: int = Field(description="Outlets (sources) among the listed reports")
    languages: dict[str, int] = Field(description="Reports per language")
    first_at: datetime = Field(description="When its first report was published")
    first: int | None = Field(description="Its first report's story id")
    lead: int | None = Field(description="Its headline report's story id")
    follows_event: int | None = Field(
        description="The id of the event this one is a development of"
    )
    follows: EventRef | None = Field(description="The event this one is a development of")
    followed_by: list[EventRef] = Field(description="Later developments of this event")
    reports: list[EventReport] = Field(description="Its reports, earliest first (at most 500)")

    @classmethod
    def of(cls, view: EventView) -> EventOut:
        return cls(
            id=view.id,
            size=view.size,
            outlets=view.outlets,
            languages=view.languages,
            first_at=view.first_at,
            first=view.first_story_id,
            lead=view.lead_story_id,
            follows_event=view.follows.event_id if view.follows else None,
            follows=EventRef.of(view.follows) if view.follows else None,
            followed_by=[EventRef.of(link) for link in view.followed_by],
            reports=[EventReport.of(r) for r in view.reports],
        )


class TopicMatch(BaseModel):
    slug: str
    name: str
    why: list[str]
    matched_at: datetime


class StoryVersion(BaseModel):
    version: int
    title: str
    replaced_at: datetime


class StoryFull(BaseModel):
    id: int
    title: str
    url: str
    source: str
    language: str | None
    published: datetime
    published_estimated: bool
    fetched: datetime
    updated: datetime | None
    authors: list[str]
    text: str
    summary: str
    version: int
    cluster_id: int | None
    also_reported_by: list[ClusterMember] = Field(description="The other stories of its cluster")
    event: int | None = Field(description=EVENT)
    follows_event: int | None = Field(
        default=None,
        description="The event its event is a later development of (GET /api/events/{id})",
    )
    event_reports: list[EventReport] = Field(
        description="Every report of its event, this one included, earliest first "
        "(just this one for a story stored before events)"
    )
    topics: list[TopicMatch]
    versions: list[StoryVersion]

    @classmethod
    def of(cls, detail: StoryDetail) -> StoryFull:
        s = detail.story
        return cls(
            id=s.id,
            title=s.title,
            url=s.canonical_url,
            source=detail.source,
            language=s.language,
            published=s.published_at or s.fetched_at,
            published_estimated=s.published_estimated,
            fetched=s.fetched_at,
            updated=s.updated_at,
            authors=[str(a) for a in s.authors],
            text=s.body,
            summary=s.summary,
            version=s.version,
            cluster_id=s.cluster_id,
            event=s.event_id,
            follows_event=detail.event.follows.event_id
            if detail.event and detail.event.follows
            else None,
            event_reports=[
                EventReport.of(r)
                for r in (detail.event.reports if detail.event else [report_of(s, lead=True)])
            ],
            also_reported_by=[
                ClusterMember(
                    id=m.story_id,
                    title=m.title,
                    source=m.source,
                    url=m.url,
                    language=m.language,
                    published=m.when,
                )
                for m in detail.members
            ],
            topics=[
                TopicMatch(
                    slug=t.slug, name=t.name, why=[str(w) for w in m.why], matched_at=m.matched_at
                )
                for t, m in detail.topics
            ],
            versions=[
                StoryVersion(version=v.version, title=v.title, replaced_at=v.replaced_at)
                for v in detail.versions
            ],
        )


class TopicOut(BaseModel):
    slug: str
    name: str
    definition: str
    query: str
    enabled: bool
    atom: str = Field(description="Atom feed of the topic's matches")

    @classmethod
    def of(cls, topic: Topic) -> TopicOut:
        return cls(
            slug=topic.slug,
            name=topic.name,
            definition=topic.definition,
            query=topic.query,
            enabled=topic.enabled,
            atom=f"/topics/{topic.slug}/atom.xml",
        )


# The catalog's own rules (wirewatch.catalog), published in the schema.
SLUG = catalog.TOPIC_SLUG_PATTERN


class TopicIn(BaseModel):
    slug: str = Field(pattern=SLUG, description="lowercase letters, digits and '-'")
    name: str = Field(min_length=1, max_length=catalog.MAX_TOPIC_NAME)
    query: str = Field(min_length=1, max_length=catalog.MAX_QUERY)
    definition: str = Field("", max_length=catalog.MAX_DEFINITION)


class SourceOut(BaseModel):
    name: str
    kind: SourceKind
    url: str
    homepage: str | None
    language: str | None
    enabled: bool
    interval_minutes: int
    last_crawled_at: datetime | None
    last_success_at: datetime | None
    last_new_story_at: datetime | None
    error_count: int
    last_error: str | None
    stories: int
    stories_per_day: float = Field(description="Stories dated within the last 7 days, per day")
    status: str | None = Field(
        None, description="ok, failing, paused, silent, disabled or new (see docs/sources.md)"
    )
    failure: str | None = Field(
        None, description="The last failure's class: dns, connection, tls, timeout, http, ..."
    )
    problem: str | None = Field(None, description="The failure or the silence, in words")
    next_poll_at: datetime | None = Field(None, description="Unset: due now, or disabled")
    not_modified_share: float | None = Field(None, description="Share of polls answered 304")

    @classmethod
    def of(cls, health: SourceHealth) -> SourceOut:
        return cls.from_source(health.source, health.stories, health.per_day)

    @classmethod
    def of_row(cls, row: SourceRow) -> SourceOut:
        out = cls.from_source(row.source, row.stories, row.per_day)
        out.status = row.status
        out.failure = row.source.failure_kind
        out.problem = row.problem or None
        out.next_poll_at = row.next_poll
        out.not_modified_share = (
            None if row.not_modified_share is None else round(row.not_modified_share, 3)
        )
        return out

    @classmethod
    def from_source(cls, s: Source, stories: int = 0, per_day: float = 0.0) -> SourceOut:
        return cls(
            name=s.name,
            kind=s.kind,
            url=s.url,
            homepage=s.homepage,
            language=s.language,
            enabled=s.enabled,
            interval_minutes=s.interval_minutes,
            last_crawled_at=s.last_crawled_at,
            last_success_at=s.last_success_at,
            last_new_story_at=s.last_new_story_at,
            error_count=s.error_count,
            last_error=s.last_error,
            stories=stories,
            stories_per_day=round(per_day, 2),
        )


SOURCE_NAME = catalog.SOURCE_NAME_PATTERN


class SourceIn(BaseModel):
    url: str = Field(
        min_length=1,
        max_length=catalog.MAX_URL,
        description="A feed, sitemap, section page or site address, a Telegram channel, or "
        "(kind search) a URL template with {query}",
    )
    name: str | None = Field(
        None, pattern=SOURCE_NAME, description="Default: from the address's host"
    )
    kind: SourceKind | None = Field(None, description="Default: what the check finds")
    language: str | None = Field(
        None, max_length=catalog.MAX_LANGUAGE, pattern=catalog.LANGUAGE_PATTERN
    )
    interval_minutes: int | None = Field(None, ge=1, le=catalog.MAX_INTERVAL)
    check: bool = Field(True, description="Fetch the address first; refuse what is no source")
    take_feed: bool | None = Field(
        None,
        description="When the address is a page naming its feed: true stores the feed, false "
        "the page as a section page; unset answers 422 naming the feed",
    )
    replace: bool = Field(False, description="Redefine the source of this name if there is one")


class EnabledPatch(BaseModel):
    enabled: bool


class CrawlIn(BaseModel):
    sources: list[str] | None = Field(
        None, max_length=500, description="Source names; omit to crawl every enabled source"
    )


class CrawlStarted(BaseModel):
    id: int
    joined: bool = Field(description="True: these sources were already being crawled; its id")
    status_url: str


class CrawlError(BaseModel):
    source: str = ""
    url: str = ""
    error: str = ""


class CrawlOut(BaseModel):
    id: int
    status: Literal["running", "succeeded", "partial", "failed"]
    finished: bool
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    sources_total: int
    sources_done: int
    fetched: int
    new: int
    duplicates: int
    updated: int
    failed: int
    not_modified: int
    errors: list[CrawlError]

    @classmethod
    def of(cls, run: CrawlRun) -> CrawlOut:
        return cls(
            id=run.id,
            status=run.status.value,  # type: ignore[arg-type]
            finished=run.finished_at is not None,
            trigger=run.trigger,
            started_at=run.started_at,
            finished_at=run.finished_at,
            sources_total=run.sources_total,
            sources_done=run.sources_done,
            fetched=run.fetched,
            new=run.new,
            duplicates=run.duplicates,
            updated=run.updated,
            failed=run.failed,
            not_modified=run.not_modified,
            errors=[
                CrawlError(
                    source=str(e.get("source", "")),
                    url=str(e.get("url", "")),
                    error=str(e.get("error", "")),
                )
                for e in run.errors
                if isinstance(e, dict)
            ],
        )


# --- subscriptions (the JSON API under /api/subscriptions) ----------------------------

# The interface languages of core.i18n.LOCALES (a test keeps the two the same).
Locale = Literal["ru", "en"]


class SubscribeIn(BaseModel):
    email: str = Field(max_length=320)
    topics: list[str] = Field(min_length=1, max_length=50)
    frequency: Frequency = Frequency.DAILY
    timezone: str = Field(default="UTC", max_length=64)
    hour: int = Field(default=8, ge=0, le=23)
    weekday: int = Field(default=0, ge=0, le=6)
    include_updates: bool = True
    order: Literal["newest", "coverage"] = "newest"
    # The emails' language; unset: the request's Accept-Language, else default_locale.
    locale: Locale | None = None


class ConfirmIn(BaseModel):
    token: str = Field(max_length=2000)


class SubscriptionOut(BaseModel):
    topic: str
    name: str
    active: bool
    confirmed: bool
    frequency: Frequency
    hour: int
    weekday: int
    include_updates: bool
    order: str


class SubscriberOut(BaseModel):
    email: str
    timezone: str
    # None: the default_locale setting (the subscriber never chose).
    locale: Locale | None
    suppressed: bool
    subscriptions: list[SubscriptionOut]

    @classmethod
    def of(cls, subscriber: Subscriber) -> SubscriberOut:
        return cls(
            email=subscriber.email,
            timezone=subscriber.timezone,
            locale=subscriber.locale if subscriber.locale in i18n.LOCALES else None,
            suppressed=subscriber.suppressed_at is not None,
            subscriptions=[
                SubscriptionOut(
                    topic=sub.topic.slug,
                    name=sub.topic.name,
                    active=sub.active,
                    confirmed=sub.confirmed,
                    frequency=sub.frequency,
                    hour=sub.send_hour,
                    weekday=sub.send_weekday,
                    include_updates=sub.include_updates,
                    order=sub.ordering,
                )
                for sub in sorted(subscriber.subscriptions, key=lambda s: s.id)
            ],
        )


class SubscriptionPatch(BaseModel):
    topic: str
    active: bool | None = None
    frequency: Frequency | None = None
    hour: int | None = Field(default=None, ge=0, le=23)
    weekday: int | None = Field(default=None, ge=0, le=6)
    include_updates: bool | None = None
    order: Literal["newest", "coverage"] | None = None


class PreferencesPatch(BaseModel):
    timezone: str | None = Field(default=None, max_length=64)
    locale: Locale | None = None
    subscriptions: list[SubscriptionPatch] = Field(default_factory=list, max_length=50)
