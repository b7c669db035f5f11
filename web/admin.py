"""Admin forms: log in and out, add or disable sources, start crawls, save topics.

Every form that changes something checks the admin session cookie, the
Origin and the CSRF token (``web.auth.check_admin_form``) before doing
anything, and answers with a redirect (POST/redirect/GET), so reloading a
page never repeats an action.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlsplit

from core.errors import QueryError, SourceError
from db import queries
from db.models import SourceKind
from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from web.actions import save_source, save_topic, set_source_enabled, set_topic_enabled
from web.api import start_crawl_for
from web.auth import SESSION_COOKIE, SESSION_MAX_AGE, check_admin_form, guard, same_origin
from web.deps import FactoryDep, SessionDep, SettingsDep
from web.pages import render

router = APIRouter(include_in_schema=False)

Csrf = Annotated[str, Form(max_length=400)]


def _safe_next(target: str) -> str:
    """Only paths on this site: never redirect a login to another host."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    settings: SettingsDep,
    token: Annotated[str, Form(max_length=500)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    g = guard(request)
    wait = request.app.state.login_limiter.hit(request.client.host if request.client else "")
    if wait or not same_origin(request) or not g.check_token(token):
        context = {"next": _safe_next(next), "error": "that is not the admin token"}
        if wait:
            context["error"] = "too many attempts; wait a minute"
        return render(request, "login.html", context, status_code=429 if wait else 401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        g.new_session(),
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=g.secure_cookies,
    )
    return response


@router.post("/logout")
def logout(request: Request, csrf: Csrf) -> Response:
    check_admin_form(request, csrf)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/sources")
def add_source(
    request: Request,
    factory: FactoryDep,
    settings: SettingsDep,
    csrf: Csrf,
    name: Annotated[str, Form(max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")],
    url: Annotated[str, Form(max_length=2000)],
    kind: Annotated[SourceKind, Form()] = SourceKind.FEED,
    language: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    check_admin_form(request, csrf)
    try:
        save_source(factory, settings, name=name, url=url, kind=kind, language=language or None)
    except SourceError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return RedirectResponse("/sources", status_code=303)


@router.post("/sources/{name}/enabled")
def toggle_source(
    request: Request,
    factory: FactoryDep,
    name: Annotated[str, Path(max_length=100)],
    csrf: Csrf,
    enabled: Annotated[bool, Form()],
) -> Response:
    check_admin_form(request, csrf)
    set_source_enabled(factory, name, enabled)
    return RedirectResponse("/sources", status_code=303)


@router.post("/topics/{slug}/enabled")
def toggle_topic(
    request: Request,
    factory: FactoryDep,
    slug: Annotated[str, Path(max_length=100)],
    csrf: Csrf,
    enabled: Annotated[bool, Form()],
) -> Response:
    check_admin_form(request, csrf)
    set_topic_enabled(factory, slug, enabled)
    return RedirectResponse("/topics", status_code=303)


@router.post("/crawls")
def start_crawl(
    request: Request,
    csrf: Csrf,
    source: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_admin_form(request, csrf)
    started = start_crawl_for(request, [source] if source else None)
    return RedirectResponse(f"/crawls/{started.run_id}", status_code=303)


@router.post("/topics", response_class=HTMLResponse)
def save_topic_form(
    request: Request,
    factory: FactoryDep,
    session: SessionDep,
    csrf: Csrf,
    slug: Annotated[str, Form(max_length=100, pattern=r"^[a-z0-9][a-z0-9-]*$")],
    name: Annotated[str, Form(min_length=1, max_length=200)],
    query: Annotated[str, Form(min_length=1, max_length=10_000)],
) -> Response:
    check_admin_form(request, csrf)
    try:
        save_topic(factory, slug=slug, name=name, query=query)
    except QueryError as exc:
        context = {
            "topics": queries.list_topics(session=session),
            "error": str(exc),
            "form": {"slug": slug, "name": name, "query": query},
        }
        return render(request, "topics.html", context, status_code=422)
    return RedirectResponse(f"/topics/{quote(slug)}", status_code=303)
