"""The JSON API under /api (OpenAPI at /api/openapi.json, browsable at /api/docs).

Reading needs nothing unless the archive is private; changing sources and
topics and starting crawls needs ``Authorization: Bearer <admin token>``.
Sources and topics are checked and saved by the catalog (``wirewatch.catalog``),
as in the admin forms and the CLI.
Errors are JSON ``{"detail": ...}``: 401 without the token, 404 for an unknown
name or id, 422 for a query that does not parse or an out-of-range parameter,
429 when crawl starts come too fast.
"""

from __future__ import annotations

import time
from typing import Annotated

from alerts import sourcehealth
from core.netguard import AddressPolicy
from db import queries
from fastapi import APIRouter, HTTPException, Path, Request, Response
from wirewatch import archive, catalog, events, sourcecheck

from web import schemas
from web.auth import AdminApi, Reader
from web.crawls import Started
from web.deps import FactoryDep, SessionDep, SettingsDep, UnitOfWorkDep
from web.params import Cursor, Limit, SearchFilters

router = APIRouter(prefix="/api", tags=["api"], responses=schemas.ERRORS)

SourceName = Annotated[str, Path(max_length=100)]


@router.get("/stories", response_model=schemas.StoryPage, summary="Search stories")
def list_stories(
    request: Request,
    factory: FactoryDep,
    filters: SearchFilters,
    _: Reader,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> schemas.StoryPage:
    """One page of stories matching the query and filters, newest (or most relevant) first."""
    started = time.perf_counter()
    page = archive.search_page(factory, filters.request(limit=limit, cursor=cursor))
    request.app.state.metrics.search_seconds.labels("api").observe(time.perf_counter() - started)
    return schemas.StoryPage(
        items=[schemas.StoryHit.of(hit) for hit in page.hits],
        next_cursor=page.next_cursor,
        exact=page.exact,
        pending=page.pending,
    )


@router.get("/stories/facets", response_model=schemas.Facets, summary="Counts for a search")
def story_facets(factory: FactoryDep, filters: SearchFilters, _: Reader) -> schemas.Facets:
    """How many stories match, per day (UTC) and per language (every story, not per cluster)."""
    found = archive.search_facets(factory, filters.request())
    return schemas.Facets(
        total=found.total,
        exact=found.exact,
        by_day=[schemas.DayCount(day=day, count=n) for day, n in found.by_day],
        by_language=found.by_language,
        since=found.since,
    )


@router.get("/stories/{story_id}", response_model=schemas.StoryFull, summary="One story")
def get_story(
    story_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep, _: Reader
) -> schemas.StoryFull:
    """The story's text and metadata, the other stories of its cluster, every report of
    its event, the topics it matched and why, and its earlier versions."""
    return schemas.StoryFull.of(archive.story_detail(session, story_id))


@router.get("/events/{event_id}", response_model=schemas.EventOut, summary="One event")
def get_event(
    event_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep, _: Reader
) -> schemas.EventOut:
    """An event: the independent reports of one happening across outlets and languages,
    its headline report, and the developments it follows or is followed by."""
    return schemas.EventOut.of(events.show_event(session, event_id))


@router.get("/topics", response_model=list[schemas.TopicOut], summary="Topics")
def list_topics(session: SessionDep, _: Reader) -> list[schemas.TopicOut]:
    return [schemas.TopicOut.of(t) for t in queries.list_topics(session=session)]


@router.put(
    "/topics/{slug}",
    response_model=schemas.TopicOut,
    summary="Add or change a topic (admin)",
)
def put_topic(
    slug: Annotated[str, Path(pattern=schemas.SLUG)],
    body: schemas.TopicIn,
    response: Response,
    session: UnitOfWorkDep,
    _: AdminApi,
) -> schemas.TopicOut:
    if body.slug != slug:
        raise HTTPException(status_code=422, detail="the slug in the path and the body differ")
    spec = catalog.check_topic(
        slug=slug, name=body.name, query=body.query, definition=body.definition
    )
    topic, created = catalog.save_topic(session=session, spec=spec)
    response.status_code = 201 if created else 200
    return schemas.TopicOut.of(topic)


@router.patch(
    "/topics/{slug}", response_model=schemas.TopicOut, summary="Enable or disable a topic (admin)"
)
def patch_topic(
    slug: Annotated[str, Path(pattern=schemas.SLUG)],
    body: schemas.EnabledPatch,
    session: UnitOfWorkDep,
    _: AdminApi,
) -> schemas.TopicOut:
    topic = catalog.set_topic_enabled(session=session, slug=slug, enabled=body.enabled)
    return schemas.TopicOut.of(topic)


@router.get("/sources", response_model=list[schemas.SourceOut], summary="Sources and their health")
def list_sources(session: SessionDep, _: Reader) -> list[schemas.SourceOut]:
    return [schemas.SourceOut.of_row(row) for row in sourcehealth.source_rows(session)]


@router.post(
    "/sources",
    response_model=schemas.SourceOut,
    status_code=201,
    summary="Add a source (admin)",
)
def post_source(
    body: schemas.SourceIn,
    response: Response,
    session: UnitOfWorkDep,
    settings: SettingsDep,
    _: AdminApi,
) -> schemas.SourceOut:
    """The address is fetched first (unless ``check`` is false) and refused, 422 with the
    reason in one line, when it is no feed, sitemap, section page or Telegram channel; an
    existing name is refused unless ``replace``."""
    new = sourcecheck.check_new_source(
        url=body.url,
        name=body.name,
        kind=body.kind,
        language=body.language,
        interval_minutes=body.interval_minutes,
        default_interval=settings.default_crawl_interval_minutes,
        policy=AddressPolicy.from_settings(settings),
        fetch_first=body.check,
        take_offer=sourcecheck.answer_offer(body.take_feed),
        user_agent=settings.user_agent,
    )
    source, created = catalog.save_source(session=session, spec=new.spec, replace=body.replace)
    response.status_code = 201 if created else 200
    return schemas.SourceOut.from_source(source)


@router.patch(
    "/sources/{name}",
    response_model=schemas.SourceOut,
    summary="Enable or disable a source (admin)",
)
def patch_source(
    name: SourceName, body: schemas.EnabledPatch, session: UnitOfWorkDep, _: AdminApi
) -> schemas.SourceOut:
    source = catalog.set_source_enabled(session=session, name=name, enabled=body.enabled)
    return schemas.SourceOut.from_source(source)


@router.post(
    "/crawls",
    response_model=schemas.CrawlStarted,
    status_code=202,
    summary="Start a crawl (admin)",
    responses={429: {"model": schemas.Problem, "description": "Too many crawl starts"}},
)
def post_crawl(request: Request, body: schemas.CrawlIn, _: AdminApi) -> schemas.CrawlStarted:
    """Crawl the named sources (or all enabled ones) in a separate process.

    Answers at once with the run's id; poll ``GET /api/crawls/{id}``. When these
    sources are already being crawled, the running crawl's id comes back
    (``joined``) instead of a second crawl."""
    started = start_crawl_for(request, body.sources)
    return schemas.CrawlStarted(
        id=started.run_id, joined=started.joined, status_url=f"/api/crawls/{started.run_id}"
    )


def start_crawl_for(request: Request, sources: list[str] | None) -> Started:
    wait = request.app.state.crawl_limiter.hit(client_key(request))
    if wait:
        raise HTTPException(
            status_code=429,
            detail="too many crawl starts; try again shortly",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    result: Started = request.app.state.crawls.start(sources, trigger="web")
    return result


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/crawls/{run_id}", response_model=schemas.CrawlOut, summary="A crawl's progress")
def get_crawl(
    run_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: UnitOfWorkDep, _: Reader
) -> schemas.CrawlOut:
    """Counts so far while it runs, then its outcome (``failed`` once its process is gone)."""
    return schemas.CrawlOut.of(queries.current_crawl_run(session=session, run_id=run_id))
