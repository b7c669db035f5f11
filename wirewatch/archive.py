"""The archive as its readers see it: search pages, counts, exports, a story in context.

The web pages, the JSON API and ``wirewatch search`` all call these, so a
query means the same everywhere (and the same as in topic alerts: the search
index holds the topic matcher's own word keys, see ``db.search``). Each
function takes a session factory or a session and keeps transactions short:
an export of a million rows is many small reads, never one long one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from core.errors import NotFoundError
from crawler.events.links import linked_to, linking_to
from db import archive as archive_reads
from db import events as event_reads
from db import feedback, queries
from db.models import Source, Story, StoryVersion, Topic, TopicMatch
from db.search import (
    EventSummary,
    Facets,
    SearchHit,
    SearchPage,
    SearchRequest,
    Sort,
    SyncResult,
    facets,
    pending_count,
    scan,
    search,
    sync,
)
from db.session import unit_of_work
from sqlalchemy.orm import Session, sessionmaker

from wirewatch.events import EventView, event_of

__all__ = [
    "ClusterMember",
    "EventSummary",
    "EventView",
    "ExportRow",
    "SearchHit",
    "SearchPage",
    "SearchRequest",
    "SearchScreen",
    "SourceHealth",
    "StoryDetail",
    "TopicOverview",
    "export_rows",
    "facets",
    "refresh_index",
    "search_archive",
    "search_facets",
    "search_page",
    "search_screen",
    "source_health",
    "story_detail",
    "topic_overview",
]

MAX_LIMIT = 1000  # `wirewatch search --limit`
# A search brings at most this many changed stories into the index before it runs;
# the web app's background indexer keeps the queue short, so this is rarely reached.
REFRESH_ON_SEARCH = 2000
HEALTH_DAYS = 7


def refresh_index(factory: sessionmaker[Session], *, limit: int = REFRESH_ON_SEARCH) -> SyncResult:
    """Index stories changed since the last call (in its own transaction)."""
    with factory() as session:
        if not pending_count(session):
            return SyncResult(0, 0)
    with unit_of_work(factory) as session:
        return sync(session, limit=limit)


def search_page(
    factory: sessionmaker[Session], request: SearchRequest, *, explain: bool = False
) -> SearchPage:
    """One page of results; raises QueryError, NotFoundError or SearchRequestError."""
    refresh_index(factory)
    with factory() as session:
        return search(session, request, explain=explain)


def search_facets(factory: sessionmaker[Session], request: SearchRequest) -> Facets:
    with factory() as session:
        return facets(session, request)


@dataclass
class SearchScreen:
    """Everything the search page shows: results, counts, and the filter choices."""

    page: SearchPage
    facets: Facets | None
    sources: list[str]
    topics: list[tuple[str, str]]  # (slug, name)


def search_screen(
    factory: sessionmaker[Session], request: SearchRequest, *, with_facets: bool
) -> SearchScreen:
    page = search_page(factory, request)
    with factory() as session:
        counts = facets(session, request) if with_facets else None
        sources = [s.name for s in queries.list_sources(session=session)]
        topics = [(t.slug, t.name) for t in queries.list_topics(session=session)]
    return SearchScreen(page, counts, sources, topics)


def search_archive(
    session: Session,
    query: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | None = None,
    language: str | None = None,
    topic: str | None = None,
    sort: Sort = "newest",
    limit: int = 20,
    across: bool = True,
) -> list[SearchHit]:
    """Up to ``limit`` stories matching ``query``, newest first, with why each matched.

    Every story is listed (copies in a cluster too), as the CLI always did. With
    ``across`` each word also finds its equivalents in the other languages.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    hits: list[SearchHit] = []
    cursor: str | None = None
    while len(hits) < limit:
        request = SearchRequest(
            query=query,
            since=since,
            until=until,
            source=source,
            language=language,
            topic=topic,
            sort=sort,
            collapse=False,
            across=across,
            limit=min(limit - len(hits), 100),
            cursor=cursor,
        )
        page = search(session, request, explain=True)
        hits.extend(page.hits)
        cursor = page.next_cursor
        if cursor is None:
            break
    return hits


# --- exports ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRow:
    id: int
    published: datetime
    fetched: datetime
    source: str
    language: str | None
    title: str
    url: str
    text: str
    authors: list[str]
    cluster_id: int | None
    event_id: int | None  # None: stored before events (its own event)
    follows_event: int | None = None  # the event its event develops


def export_rows(
    factory: sessionmaker[Session],
    request: SearchRequest,
    *,
    max_rows: int | None = None,
    batch: int = 500,
) -> Iterator[ExportRow]:
    """Every story matching ``request`` (newest first), read in short batches: flat memory.

    With ``request.collapse``, one row per event: its lead report when that matches too.
    Stories still queued for the index are indexed first, as for a search page.
    """
    refresh_index(factory)
    cursor = request.cursor
    sent = 0
    while True:
        with factory() as session:
            ids, cursor = scan(session, replace(request, cursor=cursor), batch=batch)
            rows = _export_batch(session, ids)
        for row in rows:
            if max_rows is not None and sent >= max_rows:
                return
            sent += 1
            yield row
        if cursor is None:
            return


def _export_batch(session: Session, ids: list[int]) -> list[ExportRow]:
    stories = archive_reads.stories_by_id(session=session, ids=ids)
    follows = event_reads.follows_of(
        session=session, event_ids=[s.event_id for s in stories.values() if s.event_id is not None]
    )
    rows = []
    for story_id in ids:
        story = stories.get(story_id)
        if story is None:
            continue
        rows.append(
            ExportRow(
                id=story.id,
                published=story.published_at or story.fetched_at,
                fetched=story.fetched_at,
                source=story.source.name if story.source else "",
                language=story.language,
                title=story.title,
                url=story.canonical_url,
                text=story.body or story.summary,
                authors=[str(a) for a in story.authors],
                cluster_id=story.cluster_id,
                event_id=story.event_id,
                follows_event=follows.get(story.event_id) if story.event_id else None,
            )
        )
    return rows


# --- one story ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterMember:
    story_id: int
    title: str
    source: str
    url: str
    language: str | None
    when: datetime


@dataclass
class StoryDetail:
    story: Story
    source: str
    members: list[ClusterMember]  # the other stories of its cluster, oldest first
    topics: list[tuple[Topic, TopicMatch]]
    versions: list[StoryVersion]  # earlier texts, newest first
    # Readers' feedback per topic id: (relevant, not relevant) votes, and the admin's own.
    judgments: dict[int, tuple[int, int]] = field(default_factory=dict)
    admin_verdicts: dict[int, bool] = field(default_factory=dict)
    # Its event with every report (this one too); None for a story stored before
    # events, which is its own event (its cluster, in ``members``, still shows copies).
    event: EventView | None = None
    # Stories tied by a link: the articles this one (a Telegram post) links to,
    # and the posts that link to this one.
    links_to: list[ClusterMember] = field(default_factory=list)
    linked_from: list[ClusterMember] = field(default_factory=list)


def _member(story: Story) -> ClusterMember:
    return ClusterMember(
        story.id,
        story.title,
        story.source.name if story.source else "",
        story.canonical_url,
        story.language,
        story.published_at or story.fetched_at,
    )


def story_detail(session: Session, story_id: int) -> StoryDetail:
    story = archive_reads.story_with_source(session=session, story_id=story_id)
    if story is None:
        raise NotFoundError(f"no story with id {story_id}")
    members = [
        ClusterMember(
            s.id,
            s.title,
            name or "",
            s.canonical_url,
            s.language,
            s.published_at or s.fetched_at,
        )
        for s, name in archive_reads.cluster_members(session=session, story=story)
    ]
    return StoryDetail(
        story=story,
        source=story.source.name if story.source else "",
        members=members,
        topics=queries.topics_for_story(session=session, story_id=story.id),
        versions=archive_reads.story_versions(session=session, story_id=story.id),
        judgments=feedback.story_judgments(session=session, story_id=story.id),
        admin_verdicts=feedback.verdicts_of(session=session, story_id=story.id, who=feedback.ADMIN),
        event=event_of(session, story),
        links_to=[_member(s) for s in linked_to(session, _links_of(session, story.id), story.id)],
        linked_from=[_member(s) for s in linking_to(session, story)],
    )


def _links_of(session: Session, story_id: int) -> frozenset[str]:
    """The addresses a story links to, as its event signature kept them."""
    data = event_reads.signature_data(session=session, story_id=story_id)
    return frozenset(data.get("k", ())) if data else frozenset()


# --- sources and topics ------------------------------------------------------------------


@dataclass
class SourceHealth:
    source: Source
    stories: int  # stored in all
    per_day: float  # stories dated within the last HEALTH_DAYS days, per day


def source_health(session: Session, *, now: datetime | None = None) -> list[SourceHealth]:
    now = now or datetime.now(UTC)
    since = now - timedelta(days=HEALTH_DAYS)
    totals = archive_reads.stories_per_source(session=session)
    recent = archive_reads.stories_per_source(session=session, since=since)
    return [
        SourceHealth(s, int(totals.get(s.id, 0)), int(recent.get(s.id, 0)) / HEALTH_DAYS)
        for s in queries.list_sources(session=session)
    ]


@dataclass(frozen=True)
class TopicStory:
    story_id: int
    title: str
    source: str
    url: str
    when: datetime
    matched_at: datetime
    why: list[str]
    via: str = "query"  # "model": the topic's relevance model added it


@dataclass
class TopicOverview:
    topic: Topic
    matches: int
    recent: list[TopicStory]


def topic_overview(session: Session, slug: str, *, limit: int = 50) -> TopicOverview:
    topic = queries.get_topic(session=session, slug=slug)
    count = archive_reads.topic_match_count(session=session, topic_id=topic.id)
    rows = archive_reads.latest_topic_matches(session=session, topic_id=topic.id, limit=limit)
    recent = [
        TopicStory(
            story.id,
            story.title,
            name or "",
            story.canonical_url,
            story.published_at or story.fetched_at,
            match.matched_at,
            [str(w) for w in match.why],
            match.via,
        )
        for match, story, name in rows
    ]
    return TopicOverview(topic, count, recent)
