"""Subscription pages: subscribe, confirm, preferences, unsubscribe (HTML forms).

* ``/subscribe`` only ever sends a confirmation email (``web.subscribing``,
  shared with ``POST /api/subscriptions``); nothing else is sent before its
  link is opened.
* ``/confirm/{token}``, ``/preferences/{token}`` and ``/u/{token}`` take signed
  single-purpose tokens (``alerts.tokens``). A GET never changes anything, so
  link scanners cannot confirm or unsubscribe anyone; ``POST /u/{token}`` with
  ``List-Unsubscribe=One-Click`` is RFC 8058's one-click unsubscribe and needs
  no cookie.
* The forms carry a CSRF token bound to a cookie.
* A POST that changes something runs in the request's unit of work
  (``web.deps.UnitOfWorkDep``): what the page then shows is what is stored.
"""

from __future__ import annotations

import secrets
import zoneinfo
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

from alerts import subscribe as subs
from alerts.tokens import TokenError, Tokens
from core import i18n
from core.errors import DeliveryError, NotFoundError, WirewatchError
from core.settings import Settings
from core.translatable import Translatable
from db import queries
from db.models import Frequency, Subscriber, Subscription
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from web import subscribing
from web.deps import (
    FactoryDep,
    SessionDep,
    SettingsDep,
    TemplatesDep,
    TokensDep,
    UnitOfWorkDep,
)
from web.locale import LocalizedTemplates, gettext, localized, request_locale

router = APIRouter()
CSRF_COOKIE = "ww_csrf"
COMMON_ZONES = (
    "Asia/Dushanbe",
    "Europe/Moscow",
    "UTC",
    "Asia/Tashkent",
    "Asia/Bishkek",
    "Asia/Almaty",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
)


# -- shared helpers -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _zones() -> list[str]:
    rest = sorted(zoneinfo.available_timezones() - set(COMMON_ZONES))
    return [*COMMON_ZONES, *rest]


def _csrf_pair(request: Request, tokens: Tokens) -> tuple[str, str]:
    cookie = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(18)
    return cookie, tokens.csrf(cookie)


def _with_cookie(response: Response, cookie: str, settings: Settings) -> Response:
    response.set_cookie(
        CSRF_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
        path="/",
    )
    return response


def _check_csrf(request: Request, tokens: Tokens, token: str) -> None:
    tokens.check_csrf(token, request.cookies.get(CSRF_COOKIE, ""))


def _page(
    templates: LocalizedTemplates,
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> Response:
    return templates.response(request, name, context, status_code=status)


# -- subscribe (form) -------------------------------------------------------------------------


def _form_context(
    request: Request,
    session: Session,
    csrf: str,
    values: dict[str, Any],
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "topics": queries.list_topics(session=session, enabled_only=True),
        "zones": _zones(),
        "weekdays": i18n.weekday_names(request_locale(request)),
        "form_csrf": csrf,
        "values": values,
        "error": error,
    }


DEFAULT_FORM: dict[str, Any] = {
    "email": "",
    "topics": [],
    "frequency": "daily",
    "timezone": "Asia/Dushanbe",
    "hour": 8,
    "weekday": 0,
    "include_updates": True,
    "ordering": "newest",
}


@router.get("/subscribe", response_class=HTMLResponse)
def subscribe_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    tokens: TokensDep,
) -> Response:
    cookie, csrf = _csrf_pair(request, tokens)
    # The emails' language starts as the page's: the reader can read it.
    context = _form_context(
        request, session, csrf, {**DEFAULT_FORM, "locale": request_locale(request)}
    )
    return _with_cookie(_page(templates, request, "subscribe.html", context), cookie, settings)


@router.post("/subscribe", response_class=HTMLResponse)
def subscribe_submit(
    request: Request,
    session: SessionDep,
    factory: FactoryDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    tokens: TokensDep,
    csrf: Annotated[str, Form()] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    topics: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    frequency: Annotated[Frequency, Form()] = Frequency.DAILY,
    timezone: Annotated[str, Form(max_length=64)] = "UTC",
    hour: Annotated[int, Form(ge=0, le=23)] = 8,
    weekday: Annotated[int, Form(ge=0, le=6)] = 0,
    include_updates: Annotated[bool, Form()] = False,
    ordering: Annotated[str, Form(max_length=16)] = "newest",
    locale: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    locale = locale or request_locale(request)
    values = {
        "email": email,
        "topics": topics,
        "frequency": frequency.value,
        "timezone": timezone,
        "hour": hour,
        "weekday": weekday,
        "include_updates": include_updates,
        "ordering": ordering,
        "locale": locale,
    }
    _ = gettext(request)
    cookie, fresh_csrf = _csrf_pair(request, tokens)

    def again(error: str, status: int) -> Response:
        context = _form_context(request, session, fresh_csrf, values, error)
        page = _page(templates, request, "subscribe.html", context, status=status)
        return _with_cookie(page, cookie, settings)

    try:
        _check_csrf(request, tokens, csrf)
    except TokenError as exc:
        return again(localized(request, exc), 403)
    if wait := subscribing.wait(request):
        page = again(_("Too many requests; try later."), 429)
        page.headers["Retry-After"] = str(wait)
        return page
    prefs = subs.Preferences(
        frequency=frequency,
        timezone=timezone,
        send_hour=hour,
        send_weekday=weekday,
        include_updates=include_updates,
        ordering=ordering,
        locale=locale,
    )
    try:
        # Its own short transactions: the request is stored before the email goes out.
        subscribing.ask(
            request, factory, settings, tokens, email=email, topics=topics, preferences=prefs
        )
    except (subs.AddressError, subs.PreferenceError, NotFoundError) as exc:
        return again(localized(request, exc), 400)
    except DeliveryError:
        return again(_("We could not send email just now; please try later."), 503)
    return _page(templates, request, "subscribe_sent.html", {"message": _(subscribing.ACCEPTED)})


# -- confirm ---------------------------------------------------------------------------------


@router.get("/confirm/{token}", response_class=HTMLResponse)
def confirm_page(
    request: Request, token: str, templates: TemplatesDep, tokens: TokensDep
) -> Response:
    """Shows a button: a link scanner fetching the URL confirms nothing."""
    try:
        tokens.check_confirm(token)
    except TokenError as exc:
        context = {"error": localized(request, exc), "token": token, "done": False}
        return _page(templates, request, "confirm.html", context, status=400)
    return _page(templates, request, "confirm.html", {"token": token, "done": False})


@router.post("/confirm/{token}", response_class=HTMLResponse)
def confirm_submit(
    request: Request,
    token: str,
    session: UnitOfWorkDep,
    templates: TemplatesDep,
    tokens: TokensDep,
) -> Response:
    try:
        confirmed = subs.confirm(session, tokens, token, now=datetime.now(UTC))
    except TokenError as exc:  # raised before anything changed
        context = {"error": localized(request, exc), "token": token, "done": False}
        return _page(templates, request, "confirm.html", context, status=400)
    subscriber = confirmed[0].subscriber
    context = {
        "done": True,
        "subscriptions": confirmed,
        "email": subscriber.email,
        "preferences_url": _preferences_path(tokens, subscriber),
    }
    return _page(templates, request, "confirm.html", context)


def _preferences_path(tokens: Tokens, subscriber: Subscriber) -> str:
    assert subscriber.token is not None
    return f"/preferences/{tokens.preferences(subscriber.token)}"


# -- unsubscribe (RFC 8058) ------------------------------------------------------------------


@router.get("/u/{token}", response_class=HTMLResponse)
def unsubscribe_page(
    request: Request,
    token: str,
    session: SessionDep,
    templates: TemplatesDep,
    tokens: TokensDep,
) -> Response:
    """A GET only shows a button: link scanners must not unsubscribe anyone."""
    try:
        sub: Subscription | None = subs.subscription_for_unsubscribe(session, tokens, token)
    except TokenError:
        sub = None
    context = {"sub": sub, "token": token, "done": False, "preferences_url": None}
    return _page(templates, request, "unsubscribe.html", context, status=200 if sub else 404)


@router.post("/u/{token}", response_class=HTMLResponse)
def unsubscribe_post(
    request: Request,
    token: str,
    session: UnitOfWorkDep,
    templates: TemplatesDep,
    tokens: TokensDep,
    list_unsubscribe: Annotated[str | None, Form(alias="List-Unsubscribe")] = None,
) -> Response:
    """One-click unsubscribe (RFC 8058) and the page's button both land here; no cookie needed."""
    try:
        sub = subs.unsubscribe(session, tokens, token)
    except TokenError as exc:
        raise HTTPException(status_code=404, detail=localized(request, exc)) from exc
    context = {
        "sub": sub,
        "token": token,
        "done": True,
        "preferences_url": _preferences_path(tokens, sub.subscriber)
        if sub.subscriber.token
        else None,
    }
    return _page(templates, request, "unsubscribe.html", context)


# -- preferences -----------------------------------------------------------------------------


def _preferences_context(
    request: Request,
    session: Session,
    subscriber: Subscriber,
    csrf: str,
    *,
    saved: bool = False,
    error: str | None = None,
) -> dict[str, Any]:
    mine = {sub.topic_id: sub for sub in subscriber.subscriptions}
    rows = []
    for topic in queries.list_topics(session=session, enabled_only=True):
        sub = mine.get(topic.id)
        rows.append(
            {
                "topic": topic,
                "sub": sub,
                "active": bool(sub and sub.active and sub.confirmed),
                "prefs": subs.Preferences.of(sub) if sub else subs.Preferences(),
            }
        )
    return {
        "subscriber": subscriber,
        "rows": rows,
        "zones": _zones(),
        "weekdays": i18n.weekday_names(request_locale(request)),
        "locale_default": request.app.state.settings.default_locale,
        "form_csrf": csrf,
        "saved": saved,
        "error": error,
    }


@router.get("/preferences/{token}", response_class=HTMLResponse)
def preferences_page(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    tokens: TokensDep,
) -> Response:
    try:
        subscriber = subs.subscriber_for_preferences(session, tokens, token)
    except TokenError as exc:
        return _page(
            templates, request, "preferences.html", {"error": localized(request, exc)}, status=404
        )
    cookie, csrf = _csrf_pair(request, tokens)
    context = _preferences_context(request, session, subscriber, csrf)
    return _with_cookie(_page(templates, request, "preferences.html", context), cookie, settings)


async def _posted_form(request: Request) -> FormData:
    """The whole form: its field names carry the topic (``frequency-<slug>``, ``active``...)."""
    return await request.form()


@router.post("/preferences/{token}", response_class=HTMLResponse)
def preferences_submit(
    request: Request,
    token: str,
    form: Annotated[FormData, Depends(_posted_form)],
    session: UnitOfWorkDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    tokens: TokensDep,
) -> Response:
    fields = {key: str(value) for key, value in form.items()}
    active = {str(v) for v in form.getlist("active")}
    updates = {str(v) for v in form.getlist("updates")}
    cookie, csrf = _csrf_pair(request, tokens)
    try:
        subscriber = subs.subscriber_for_preferences(session, tokens, token)
    except TokenError as exc:
        return _page(
            templates, request, "preferences.html", {"error": localized(request, exc)}, status=404
        )
    status, error, saved = 200, None, False
    try:
        # A refused change leaves nothing behind, yet the page is still answered normally.
        with session.begin_nested():
            _check_csrf(request, tokens, fields.get("csrf", ""))
            changes = [
                subs.Change(
                    topic_slug=topic.slug,
                    active=topic.slug in active,
                    preferences=_prefs_from_fields(fields, topic.slug, topic.slug in updates),
                )
                for topic in queries.list_topics(session=session, enabled_only=True)
            ]
            subs.update_preferences(
                session,
                subscriber,
                timezone=fields.get("timezone") or None,
                locale=fields.get("locale") or None,
                changes=changes,
                now=datetime.now(UTC),
            )
        saved = True
    except TokenError as exc:
        status, error = 403, localized(request, exc)
    except (WirewatchError, ValueError) as exc:
        status, error = 400, localized(request, exc)
    session.expire_all()
    subscriber = subs.subscriber_for_preferences(session, tokens, token)
    context = _preferences_context(request, session, subscriber, csrf, saved=saved, error=error)
    page = _page(templates, request, "preferences.html", context, status=status)
    return _with_cookie(page, cookie, settings)


def _prefs_from_fields(fields: dict[str, str], slug: str, updates: bool) -> subs.Preferences:
    def number(name: str, default: int) -> int:
        raw = fields.get(f"{name}-{slug}", "")
        try:
            return int(raw) if raw else default
        except ValueError as exc:
            raise subs.PreferenceError(
                Translatable.gettext(
                    "%(name)s for %(topic)s must be a number", name=name, topic=slug
                )
            ) from exc

    try:
        frequency = Frequency(fields.get(f"frequency-{slug}", "daily"))
    except ValueError as exc:
        raise subs.PreferenceError(
            Translatable.gettext("unknown frequency for %(topic)s", topic=slug)
        ) from exc
    return subs.Preferences(
        frequency=frequency,
        timezone=fields.get("timezone") or "UTC",
        send_hour=number("hour", 8),
        send_weekday=number("weekday", 0),
        include_updates=updates,
        ordering=fields.get(f"ordering-{slug}", "newest"),
    )
