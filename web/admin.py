"""Admin forms: log in and out, add or disable sources, start crawls, save topics,
correct events (split a report out, merge two events, move a report).

Every form that changes something checks the admin session cookie, the
Origin and the CSRF token (``web.auth.check_admin_form``) before doing
anything, and answers with a redirect (POST/redirect/GET), so reloading a
page never repeats an action. Sources and topics are checked and saved by the
catalog (``wirewatch.catalog``), as in the API and the CLI; events are corrected
by ``wirewatch.events``, as by ``wirewatch events``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from core.netguard import AddressPolicy
from db import queries
from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from wirewatch import catalog, events, sourcecheck
from wirewatch.catalog import CatalogError

from web.api import start_crawl_for
from web.auth import SESSION_COOKIE, SESSION_MAX_AGE, check_admin_form, guard, same_origin
from web.deps import SettingsDep, UnitOfWorkDep
from web.locale import gettext, localized, request_translations, safe_next
from web.pages import render
from web.routes import sources_page_context

router = APIRouter(include_in_schema=False)

Csrf = Annotated[str, Form(max_length=400)]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
FormId = Annotated[int, Form(ge=1, le=2**31 - 1)]
# Form limits only bound the work one request can cause; the catalog's rules
# (wirewatch.catalog) decide what is accepted, with the same messages as the CLI,
# an empty field included (FastAPI would answer a missing one with its own error).
FIELD_CAP = 1000
TEXT_CAP = 20_000


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", {"next": safe_next(next), "error": None})


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
        _ = gettext(request)
        context = {"next": safe_next(next), "error": _("that is not the admin token")}
        if wait:
            context["error"] = _("too many attempts; wait a minute")
        return render(request, "login.html", context, status_code=429 if wait else 401)
    response = RedirectResponse(safe_next(next), status_code=303)
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


@router.post("/sources", response_class=HTMLResponse)
def add_source(
    request: Request,
    session: UnitOfWorkDep,
    settings: SettingsDep,
    csrf: Csrf,
    name: Annotated[str, Form(max_length=FIELD_CAP)] = "",
    url: Annotated[str, Form(max_length=TEXT_CAP)] = "",
    kind: Annotated[str, Form(max_length=20)] = "",
    language: Annotated[str, Form(max_length=FIELD_CAP)] = "",
    check: Annotated[str, Form(max_length=10)] = "",
    replace: Annotated[str, Form(max_length=10)] = "",
    take_feed: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """The address is checked as by ``wirewatch sources add``. A refusal shows the page again
    (422) with what was typed and the message beside its field; a page naming a feed shows
    the offer (200): take the feed, or follow the page as a section page."""
    check_admin_form(request, csrf)
    form = {
        "name": name,
        "url": url,
        "kind": kind,
        "language": language,
        "check": check,
        "replace": replace,
    }
    try:
        new = sourcecheck.check_new_source(
            url=url,
            name=name.strip() or None,
            kind=catalog.check_kind(kind) if kind else None,
            language=language,
            interval_minutes=None,
            default_interval=settings.default_crawl_interval_minutes,
            policy=AddressPolicy.from_settings(settings),
            fetch_first=check != "no",
            user_agent=settings.user_agent,
            take_offer=sourcecheck.answer_offer({"true": True, "false": False}.get(take_feed)),
        )
        catalog.save_source(session=session, spec=new.spec, replace=replace == "yes")
    except sourcecheck.FeedOffered as offer:
        context = {"form": form, "offer": offer.detection, "offer_text": str(offer)}
        return _sources_page(request, session, context, status_code=200)
    except CatalogError as exc:
        context = {"form": form, "error": localized(request, exc), "error_field": exc.field}
        return _sources_page(request, session, context, status_code=422)
    return RedirectResponse("/sources", status_code=303)


def _sources_page(
    request: Request, session: Session, extra: dict[str, object], *, status_code: int
) -> Response:
    context = {
        **sources_page_context(session, translations=request_translations(request)),
        **extra,
    }
    return render(request, "sources.html", context, status_code=status_code)


@router.post("/sources/{name}/links")
def set_source_links(
    request: Request,
    session: UnitOfWorkDep,
    name: Annotated[str, Path(max_length=100)],
    csrf: Csrf,
    css: Annotated[str, Form(max_length=FIELD_CAP)] = "",
    xpath: Annotated[str, Form(max_length=FIELD_CAP)] = "",
) -> Response:
    """A section source's article-link rules (both empty: the heuristics); a rule that
    does not compile answers 422 with the reason."""
    check_admin_form(request, csrf)
    catalog.set_link_rules(
        session=session, name=name, css=css.strip() or None, xpath=xpath.strip() or None
    )
    return RedirectResponse("/sources", status_code=303)


@router.post("/sources/{name}/enabled")
def toggle_source(
    request: Request,
    session: UnitOfWorkDep,
    name: Annotated[str, Path(max_length=100)],
    csrf: Csrf,
    enabled: Annotated[bool, Form()],
) -> Response:
    check_admin_form(request, csrf)
    catalog.set_source_enabled(session=session, name=name, enabled=enabled)
    return RedirectResponse("/sources", status_code=303)


@router.post("/topics/{slug}/enabled")
def toggle_topic(
    request: Request,
    session: UnitOfWorkDep,
    slug: Annotated[str, Path(max_length=100)],
    csrf: Csrf,
    enabled: Annotated[bool, Form()],
) -> Response:
    check_admin_form(request, csrf)
    catalog.set_topic_enabled(session=session, slug=slug, enabled=enabled)
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
    session: UnitOfWorkDep,
    csrf: Csrf,
    slug: Annotated[str, Form(max_length=FIELD_CAP)] = "",
    name: Annotated[str, Form(max_length=FIELD_CAP)] = "",
    query: Annotated[str, Form(max_length=TEXT_CAP)] = "",
) -> Response:
    """A refused slug, name or query shows the form again, filled in, with the catalog's message."""
    check_admin_form(request, csrf)
    try:
        spec = catalog.check_topic(slug=slug, name=name, query=query)
    except CatalogError as exc:
        context = {
            "topics": queries.list_topics(session=session),
            "error": localized(request, exc),
            "form": {"slug": slug, "name": name, "query": query},
        }
        return render(request, "topics.html", context, status_code=422)
    catalog.save_topic(session=session, spec=spec)
    return RedirectResponse(f"/topics/{quote(slug)}", status_code=303)


# --- events: every refusal (an unknown id, merging an event into itself...) is the
# service's EventError, answered 404/422 with its message (web.errors).


@router.post("/stories/{story_id}/split")
def split_story(request: Request, session: UnitOfWorkDep, story_id: Id, csrf: Csrf) -> Response:
    """The report leaves its event for a new one of its own (pinned)."""
    check_admin_form(request, csrf)
    done = events.split_story(session, story_id)
    return RedirectResponse(f"/events/{done.event_id}", status_code=303)


@router.post("/stories/{story_id}/move")
def move_story(
    request: Request, session: UnitOfWorkDep, story_id: Id, csrf: Csrf, event: FormId
) -> Response:
    """The report joins another event (pinned)."""
    check_admin_form(request, csrf)
    done = events.move_story(session, story_id, event)
    return RedirectResponse(f"/events/{done.event_id}", status_code=303)


@router.post("/events/{event_id}/follows")
def set_follows(
    request: Request,
    session: UnitOfWorkDep,
    event_id: Id,
    csrf: Csrf,
    earlier: Annotated[str, Form(max_length=FIELD_CAP)] = "",
) -> Response:
    """This event develops ``earlier`` (an event id); empty: it develops none."""
    check_admin_form(request, csrf)
    text = earlier.strip()
    if text and not text.isdigit():
        raise events.EventError(f"not an event id: {text[:40]!r}")
    events.set_follows(session, event_id, int(text) if text else None)
    return RedirectResponse(f"/events/{event_id}", status_code=303)


@router.post("/events/{event_id}/merge")
def merge_events(
    request: Request, session: UnitOfWorkDep, event_id: Id, csrf: Csrf, source: FormId
) -> Response:
    """Every report of ``source`` moves into this event (pinned); ``source`` is deleted."""
    check_admin_form(request, csrf)
    done = events.merge_events(session, event_id, source)
    return RedirectResponse(f"/events/{done.event_id}", status_code=303)
