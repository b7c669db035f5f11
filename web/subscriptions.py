"""Subscription pages and API: subscribe, confirm, preferences, unsubscribe.

* ``/subscribe`` (form) and ``POST /api/subscriptions`` (JSON) only ever send
  a confirmation email; nothing else is sent before its link is opened. They
  answer the same whatever the address's state, so they reveal nothing about
  who is subscribed, and they are rate limited per client address.
* ``/confirm/{token}``, ``/preferences/{token}`` and ``/u/{token}`` take signed
  single-purpose tokens (``alerts.tokens``). A GET never changes anything, so
  link scanners cannot confirm or unsubscribe anyone; ``POST /u/{token}`` with
  ``List-Unsubscribe=One-Click`` is RFC 8058's one-click unsubscribe and needs
  no cookie.
* The HTML forms carry a CSRF token bound to a cookie; the JSON API accepts
  only ``application/json``, which another site's form cannot send.
"""

from __future__ import annotations

import logging
import math
import secrets
import zoneinfo
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

from alerts import subscribe as subs
from alerts.senders import make_sender
from alerts.tokens import TokenError, Tokens
from core.errors import DeliveryError, NotFoundError, WirewatchError
from core.settings import Settings
from db import queries
from db.models import Frequency, Subscriber, Subscription
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from web import schemas
from web.deps import SessionDep, SettingsDep, TemplatesDep
from web.ratelimit import RateLimiter

log = logging.getLogger(__name__)
router = APIRouter()
CSRF_COOKIE = "ww_csrf"
RATE_WINDOW = 3600.0
ACCEPTED = (
    "If this address can receive mail, a confirmation link is on its way to it. "
    "Nothing is sent before the link is opened."
)
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


def _wait(request: Request, settings: Settings) -> int:
    """Counts this subscribe request against the client's hourly allowance; seconds to wait."""
    limiter: RateLimiter | None = getattr(request.app.state, "subscribe_limiter", None)
    if limiter is None:
        limiter = RateLimiter(settings.subscribe_rate_limit, window=RATE_WINDOW)
        request.app.state.subscribe_limiter = limiter
    return math.ceil(limiter.hit(_client(request)))


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _tokens(request: Request, settings: Settings) -> Tokens:
    tokens: Tokens | None = getattr(request.app.state, "tokens", None)
    if tokens is None:
        tokens = Tokens.from_settings(settings)
        request.app.state.tokens = tokens
    return tokens


def _sessions(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


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
    templates: Any,
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> Response:
    response: Response = templates.TemplateResponse(request, name, context, status_code=status)
    return response


# -- subscribe (form) -------------------------------------------------------------------------


def _form_context(
    session: Session, csrf: str, values: dict[str, Any], error: str | None = None
) -> dict[str, Any]:
    return {
        "topics": queries.list_topics(session=session, enabled_only=True),
        "zones": _zones(),
        "weekdays": subs.WEEKDAYS,
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
    request: Request, session: SessionDep, settings: SettingsDep, templates: TemplatesDep
) -> Response:
    cookie, csrf = _csrf_pair(request, _tokens(request, settings))
    context = _form_context(session, csrf, dict(DEFAULT_FORM))
    return _with_cookie(_page(templates, request, "subscribe.html", context), cookie, settings)


@router.post("/subscribe", response_class=HTMLResponse)
def subscribe_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    csrf: Annotated[str, Form()] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    topics: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    frequency: Annotated[Frequency, Form()] = Frequency.DAILY,
    timezone: Annotated[str, Form(max_length=64)] = "UTC",
    hour: Annotated[int, Form(ge=0, le=23)] = 8,
    weekday: Annotated[int, Form(ge=0, le=6)] = 0,
    include_updates: Annotated[bool, Form()] = False,
    ordering: Annotated[str, Form(max_length=16)] = "newest",
) -> Response:
    tokens = _tokens(request, settings)
    values = {
        "email": email,
        "topics": topics,
        "frequency": frequency.value,
        "timezone": timezone,
        "hour": hour,
        "weekday": weekday,
        "include_updates": include_updates,
        "ordering": ordering,
    }
    cookie, fresh_csrf = _csrf_pair(request, tokens)
    try:
        _check_csrf(request, tokens, csrf)
    except TokenError as exc:
        context = _form_context(session, fresh_csrf, values, str(exc))
        page = _page(templates, request, "subscribe.html", context, status=403)
        return _with_cookie(page, cookie, settings)
    if wait := _wait(request, settings):
        context = _form_context(session, fresh_csrf, values, "Too many requests; try later.")
        page = _page(templates, request, "subscribe.html", context, status=429)
        page.headers["Retry-After"] = str(wait)
        return _with_cookie(page, cookie, settings)
    prefs = subs.Preferences(
        frequency=frequency,
        timezone=timezone,
        send_hour=hour,
        send_weekday=weekday,
        include_updates=include_updates,
        ordering=ordering,
    )
    try:
        _request(request, settings, tokens, email, topics, prefs)
    except (subs.AddressError, subs.PreferenceError, NotFoundError) as exc:
        context = _form_context(session, fresh_csrf, values, str(exc))
        page = _page(templates, request, "subscribe.html", context, status=400)
        return _with_cookie(page, cookie, settings)
    except DeliveryError:
        context = _form_context(
            session, fresh_csrf, values, "We could not send email just now; please try later."
        )
        page = _page(templates, request, "subscribe.html", context, status=503)
        return _with_cookie(page, cookie, settings)
    return _page(templates, request, "subscribe_sent.html", {"message": ACCEPTED})


def _request(
    request: Request,
    settings: Settings,
    tokens: Tokens,
    email: str,
    topics: list[str],
    prefs: subs.Preferences,
) -> None:
    try:
        result = subs.request_subscription(
            _sessions(request),
            settings,
            make_sender(settings),
            email=email,
            topics=topics,
            preferences=prefs,
            tokens=tokens,
        )
    except DeliveryError as exc:
        log.error("confirmation email could not be sent: %s", exc)
        raise
    log.info("subscribe request from %s: %s", _client(request), result.outcome.value)


# -- confirm ---------------------------------------------------------------------------------


@router.get("/confirm/{token}", response_class=HTMLResponse)
def confirm_page(
    request: Request, token: str, settings: SettingsDep, templates: TemplatesDep
) -> Response:
    """Shows a button: a link scanner fetching the URL confirms nothing."""
    try:
        _tokens(request, settings).check_confirm(token)
    except TokenError as exc:
        context = {"error": str(exc), "token": token, "done": False}
        return _page(templates, request, "confirm.html", context, status=400)
    return _page(templates, request, "confirm.html", {"token": token, "done": False})


@router.post("/confirm/{token}", response_class=HTMLResponse)
def confirm_submit(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
) -> Response:
    tokens = _tokens(request, settings)
    try:
        confirmed = subs.confirm(session, tokens, token, now=datetime.now(UTC))
        session.commit()
    except TokenError as exc:
        context = {"error": str(exc), "token": token, "done": False}
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
    settings: SettingsDep,
    templates: TemplatesDep,
) -> Response:
    """A GET only shows a button: link scanners must not unsubscribe anyone."""
    tokens = _tokens(request, settings)
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
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    list_unsubscribe: Annotated[str | None, Form(alias="List-Unsubscribe")] = None,
) -> Response:
    """One-click unsubscribe (RFC 8058) and the page's button both land here; no cookie needed."""
    tokens = _tokens(request, settings)
    try:
        sub = subs.unsubscribe(session, tokens, token)
    except TokenError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    session.commit()
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
        "weekdays": subs.WEEKDAYS,
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
) -> Response:
    tokens = _tokens(request, settings)
    try:
        subscriber = subs.subscriber_for_preferences(session, tokens, token)
    except TokenError as exc:
        return _page(templates, request, "preferences.html", {"error": str(exc)}, status=404)
    cookie, csrf = _csrf_pair(request, tokens)
    context = _preferences_context(session, subscriber, csrf)
    return _with_cookie(_page(templates, request, "preferences.html", context), cookie, settings)


@router.post("/preferences/{token}", response_class=HTMLResponse)
async def preferences_submit(
    request: Request,
    token: str,
    settings: SettingsDep,
    templates: TemplatesDep,
) -> Response:
    form = await request.form()
    fields = {key: str(value) for key, value in form.items()}
    active = {str(v) for v in form.getlist("active")}
    updates = {str(v) for v in form.getlist("updates")}
    return await run_in_threadpool(
        _save_preferences, request, token, settings, templates, fields, active, updates
    )


def _save_preferences(
    request: Request,
    token: str,
    settings: Settings,
    templates: Any,
    fields: dict[str, str],
    active: set[str],
    updates: set[str],
) -> Response:
    tokens = _tokens(request, settings)
    cookie, csrf = _csrf_pair(request, tokens)
    with _sessions(request)() as session:
        try:
            subscriber = subs.subscriber_for_preferences(session, tokens, token)
        except TokenError as exc:
            return _page(templates, request, "preferences.html", {"error": str(exc)}, status=404)
        status, error, saved = 200, None, False
        try:
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
                changes=changes,
                now=datetime.now(UTC),
            )
            session.commit()
            saved = True
        except TokenError as exc:
            session.rollback()
            status, error = 403, str(exc)
        except (WirewatchError, ValueError) as exc:
            session.rollback()
            status, error = 400, str(exc)
        session.expire_all()
        subscriber = subs.subscriber_for_preferences(session, tokens, token)
        context = _preferences_context(session, subscriber, csrf, saved=saved, error=error)
        page = _page(templates, request, "preferences.html", context, status=status)
    return _with_cookie(page, cookie, settings)


def _prefs_from_fields(fields: dict[str, str], slug: str, updates: bool) -> subs.Preferences:
    def number(name: str, default: int) -> int:
        raw = fields.get(f"{name}-{slug}", "")
        try:
            return int(raw) if raw else default
        except ValueError as exc:
            raise subs.PreferenceError(f"{name} for {slug} must be a number") from exc

    try:
        frequency = Frequency(fields.get(f"frequency-{slug}", "daily"))
    except ValueError as exc:
        raise subs.PreferenceError(f"unknown frequency for {slug}") from exc
    return subs.Preferences(
        frequency=frequency,
        timezone=fields.get("timezone") or "UTC",
        send_hour=number("hour", 8),
        send_weekday=number("weekday", 0),
        include_updates=updates,
        ordering=fields.get(f"ordering-{slug}", "newest"),
    )


# -- JSON API --------------------------------------------------------------------------------


def _require_json(request: Request) -> None:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise HTTPException(status_code=415, detail="send the body as application/json")


def _subscriber_out(subscriber: Subscriber) -> schemas.SubscriberOut:
    return schemas.SubscriberOut(
        email=subscriber.email,
        timezone=subscriber.timezone,
        suppressed=subscriber.suppressed_at is not None,
        subscriptions=[
            schemas.SubscriptionOut(
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


@router.post("/api/subscriptions", status_code=202, tags=["subscriptions"])
def api_subscribe(
    request: Request, body: schemas.SubscribeIn, settings: SettingsDep
) -> JSONResponse:
    """Ask for a subscription: a confirmation email goes out; the answer is always the same."""
    _require_json(request)
    if wait := _wait(request, settings):
        raise HTTPException(
            status_code=429,
            detail="too many requests; try later",
            headers={"Retry-After": str(wait)},
        )
    prefs = subs.Preferences(
        frequency=body.frequency,
        timezone=body.timezone,
        send_hour=body.hour,
        send_weekday=body.weekday,
        include_updates=body.include_updates,
        ordering=body.order,
    )
    try:
        _request(request, settings, _tokens(request, settings), body.email, body.topics, prefs)
    except (subs.AddressError, subs.PreferenceError, NotFoundError) as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    except DeliveryError as exc:
        raise HTTPException(
            status_code=503, detail="could not send the confirmation email; try later"
        ) from exc
    return JSONResponse({"status": "accepted", "detail": ACCEPTED}, status_code=202)


@router.post("/api/subscriptions/confirm", tags=["subscriptions"])
def api_confirm(
    request: Request, body: schemas.ConfirmIn, session: SessionDep, settings: SettingsDep
) -> schemas.SubscriberOut:
    """Open a confirmation link's token: its subscriptions start."""
    _require_json(request)
    try:
        confirmed = subs.confirm(
            session, _tokens(request, settings), body.token, now=datetime.now(UTC)
        )
    except TokenError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    session.commit()
    subscriber = confirmed[0].subscriber
    session.refresh(subscriber)
    return _subscriber_out(subscriber)


def _subscriber_or_404(
    request: Request, session: Session, settings: Settings, token: str
) -> Subscriber:
    try:
        return subs.subscriber_for_preferences(session, _tokens(request, settings), token)
    except TokenError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc


@router.get("/api/subscriptions/{token}", tags=["subscriptions"])
def api_preferences(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> schemas.SubscriberOut:
    """A subscriber's subscriptions; the token is the one in the preferences link."""
    return _subscriber_out(_subscriber_or_404(request, session, settings, token))


@router.patch("/api/subscriptions/{token}", tags=["subscriptions"])
def api_update(
    request: Request,
    token: str,
    body: schemas.PreferencesPatch,
    session: SessionDep,
    settings: SettingsDep,
) -> schemas.SubscriberOut:
    """Change settings, switch topics on or off; fields left out keep their value."""
    _require_json(request)
    subscriber = _subscriber_or_404(request, session, settings, token)
    current = {sub.topic.slug: sub for sub in subscriber.subscriptions}
    timezone = body.timezone or subscriber.timezone
    changes = []
    for patch in body.subscriptions:
        existing = current.get(patch.topic)
        base = subs.Preferences.of(existing) if existing else subs.Preferences()
        prefs = subs.Preferences(
            frequency=patch.frequency or base.frequency,
            timezone=timezone,
            send_hour=base.send_hour if patch.hour is None else patch.hour,
            send_weekday=base.send_weekday if patch.weekday is None else patch.weekday,
            include_updates=(
                base.include_updates if patch.include_updates is None else patch.include_updates
            ),
            ordering=patch.order or base.ordering,
        )
        was_active = bool(existing and existing.active)
        active = was_active if patch.active is None else patch.active
        changes.append(subs.Change(topic_slug=patch.topic, active=active, preferences=prefs))
    try:
        subs.update_preferences(
            session, subscriber, timezone=body.timezone, changes=changes, now=datetime.now(UTC)
        )
    except (subs.PreferenceError, NotFoundError) as exc:
        session.rollback()
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    session.commit()
    session.refresh(subscriber)
    return _subscriber_out(subscriber)


@router.delete("/api/subscriptions/{token}", tags=["subscriptions"])
def api_unsubscribe(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    topic: Annotated[str | None, Query(max_length=100)] = None,
) -> schemas.SubscriberOut:
    """Unsubscribe from one topic (``?topic=slug``) or from all."""
    subscriber = _subscriber_or_404(request, session, settings, token)
    for sub in subscriber.subscriptions:
        if topic is None or sub.topic.slug == topic:
            sub.active = False
    session.commit()
    session.refresh(subscriber)
    return _subscriber_out(subscriber)
