"""Archive pages: search, a story, an event, topics, sources and crawl runs; and /healthz.

Each handler parses its input, calls one archive function and renders. Stored
text reaches templates as plain strings (autoescaped) or as markup built by
``db.search.snippets``, which escapes everything but its own ``<mark>``.
"""

from __future__ import annotations

import time
from pathlib import Path as PathLib
from typing import Annotated
from urllib.parse import urlencode

from alerts import sourcehealth
from core.errors import WirewatchError
from core.translatable import Translations
from db import monitoring, queries
from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session
from wirewatch import archive, events

from web import charts
from web.auth import Reader
from web.deps import FactoryDep, SessionDep, UnitOfWorkDep
from web.locale import gettext, localized, request_translations
from web.pages import render
from web.params import Cursor, Filters, Limit, SearchFilters

router = APIRouter(include_in_schema=False)
FACET_DAYS = 60
FAVICON = PathLib(__file__).with_name("static") / "favicon.svg"

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    factory: FactoryDep,
    filters: SearchFilters,
    _: Reader,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Response:
    searching = any(
        (
            filters.q.strip(),
            filters.source,
            filters.lang,
            filters.topic,
            filters.since,
            filters.until,
            filters.cluster,
        )
    )
    context: dict[str, object] = {
        "f": filters,
        "cursor": cursor,
        "error": None,
        "page": None,
        "facets": None,
        "sources": [],
        "topics": [],
    }
    started = time.perf_counter()
    try:
        screen = archive.search_screen(
            factory, filters.request(limit=limit, cursor=cursor), with_facets=searching
        )
    except WirewatchError as exc:  # a query that does not parse, an unknown source or topic
        context["error"] = localized(request, exc)
    else:
        request.app.state.metrics.search_seconds.labels("web").observe(
            time.perf_counter() - started
        )
        context.update(_screen_context(screen, filters, limit, request_translations(request)))
    return render(request, "index.html", context)


def _screen_context(
    screen: archive.SearchScreen, filters: Filters, limit: int, translations: Translations
) -> dict[str, object]:
    _ = translations.gettext
    params = {k: v for k, v in _query_params(filters).items() if v not in ("", None)}
    days = screen.facets.by_day[-FACET_DAYS:] if screen.facets else []
    return {
        "page": screen.page,
        "facets": screen.facets,
        "days": days,
        "day_chart": charts.bar_chart(
            charts.fill_days(days),
            title=_("Stories per day"),
            x_title=_("day (UTC)"),
            y_title=_("stories"),
            translations=translations,
        ),
        "sources": screen.sources,
        "topics": screen.topics,
        "next_url": "/?"
        + urlencode({**params, "limit": limit, "cursor": screen.page.next_cursor or ""}),
        "first_url": "/?" + urlencode({**params, "limit": limit}),
        "export_base": "/api/stories",
        "export_query": urlencode(params),
    }


def _query_params(filters: Filters) -> dict[str, object]:
    return {
        "q": filters.q,
        "since": filters.since,
        "until": filters.until,
        "source": filters.source,
        "lang": filters.lang,
        "topic": filters.topic,
        "cluster": filters.cluster,
        "sort": filters.sort,
        "collapse": "true" if filters.collapse else "false",
        "across": "1" if filters.across else "0",
    }


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story_page(request: Request, story_id: Id, session: SessionDep, _: Reader) -> Response:
    detail = archive.story_detail(session, story_id)
    url = detail.story.canonical_url
    safe_url = url if url.startswith(("http://", "https://")) else None
    context = {"story": detail.story, "detail": detail, "safe_url": safe_url}
    # Topics the admin may judge the story for, besides those it matched.
    context["all_topics"] = queries.list_topics(session=session, enabled_only=True)
    context["matched_ids"] = {topic.id for topic, _ in detail.topics}
    return render(request, "story.html", context)


@router.get("/events/{event_id}", response_class=HTMLResponse)
def event_page(request: Request, event_id: Id, session: SessionDep, _: Reader) -> Response:
    return render(request, "event.html", {"view": events.show_event(session, event_id)})


@router.get("/topics", response_class=HTMLResponse)
def topics_page(request: Request, session: SessionDep, _: Reader) -> Response:
    topics = queries.list_topics(session=session)
    return render(
        request,
        "topics.html",
        {"topics": topics, "error": None, "form": {"slug": "", "name": "", "query": ""}},
    )


@router.get("/topics/{slug}", response_class=HTMLResponse)
def topic_page(
    request: Request,
    slug: Annotated[str, Path(max_length=100)],
    session: SessionDep,
    _reader: Reader,
) -> Response:
    _ = gettext(request)
    overview = archive.topic_overview(session, slug)
    days = archive.facets(session, archive.SearchRequest(topic=slug)).by_day[-FACET_DAYS:]
    chart = charts.bar_chart(
        charts.fill_days(days),
        title=_("%(topic)s: matching stories per day") % {"topic": overview.topic.name},
        x_title=_("day (UTC)"),
        y_title=_("stories"),
        translations=request_translations(request),
    )
    return render(request, "topic.html", {"overview": overview, "day_chart": chart})


@router.get("/sources", response_class=HTMLResponse)
def sources_page(
    request: Request, session: UnitOfWorkDep, _: Reader, failing: bool = False
) -> Response:
    """``?failing=1`` lists only the failing and paused sources."""
    context = sources_page_context(
        session, failing=failing, translations=request_translations(request)
    )
    return render(request, "sources.html", context)


def sources_page_context(
    session: Session, *, failing: bool = False, translations: Translations | None = None
) -> dict[str, object]:
    """What the sources page shows: each source's state and the recent crawls."""
    rows = sourcehealth.source_rows(session)
    shown = [r for r in rows if r.failing] if failing else rows
    queries.reap_dead_crawl_runs(session=session)  # a killed crawl shows as failed
    runs = queries.recent_crawl_runs(session=session, limit=10)
    chart = charts.health_chart(
        [
            charts.HealthRow(
                r.source.name,
                r.per_day,
                charts.source_state(
                    enabled=r.source.enabled,
                    error_count=r.source.error_count,
                    crawled=r.source.last_success_at is not None,
                ),
            )
            for r in rows
        ],
        days=archive.HEALTH_DAYS,
        translations=translations,
    )
    return {
        "rows": shown,
        "failing_count": sum(r.failing for r in rows),
        "total": len(rows),
        "only_failing": failing,
        "runs": runs,
        "chart": chart,
        "form": {},
        "error": None,
        "offer": None,
    }


@router.get("/crawls/{run_id}", response_class=HTMLResponse)
def crawl_page(request: Request, run_id: Id, session: UnitOfWorkDep, _: Reader) -> Response:
    run = queries.current_crawl_run(session=session, run_id=run_id)
    return render(request, "crawl.html", {"run": run})


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    """The site's icon, so a browser's automatic request finds one instead of a 404."""
    return FileResponse(
        FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"}
    )


@router.get("/healthz")
def healthz(session: SessionDep) -> JSONResponse:
    try:
        monitoring.ping(session=session)
    except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
        return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok", "stories": queries.count_stories(session=session)})
