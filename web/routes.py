"""Archive pages: latest stories and search, a story, sources; and /healthz."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import text

from db import queries
from db.models import Story
from web.deps import SessionDep, TemplatesDep
from wirewatch.archive import search_archive
from wirewatch.errors import QueryError

router = APIRouter()
MAX_QUERY_CHARS = 500


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
) -> Response:
    error = None
    hits = []
    stories: list[Story] = []
    if q.strip():
        try:
            hits = search_archive(session, q, limit=50)
        except QueryError as exc:
            error = str(exc)
    else:
        stories = queries.latest_stories(session=session, limit=50)
    return templates.TemplateResponse(
        request, "index.html", {"q": q, "hits": hits, "stories": stories, "error": error}
    )


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story_page(
    request: Request, story_id: int, session: SessionDep, templates: TemplatesDep
) -> Response:
    story = session.get(Story, story_id)
    if story is None:
        raise HTTPException(status_code=404, detail=f"no story with id {story_id}")
    matches = queries.topics_for_story(session=session, story_id=story_id)
    return templates.TemplateResponse(request, "story.html", {"story": story, "matches": matches})


@router.get("/sources", response_class=HTMLResponse)
def sources_page(request: Request, session: SessionDep, templates: TemplatesDep) -> Response:
    sources = queries.list_sources(session=session)
    runs = queries.recent_crawl_runs(session=session, limit=10)
    return templates.TemplateResponse(request, "sources.html", {"sources": sources, "runs": runs})


@router.get("/healthz")
def healthz(session: SessionDep) -> JSONResponse:
    try:
        session.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
        return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok", "stories": queries.count_stories(session=session)})
