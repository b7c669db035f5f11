"""The subscription JSON API under ``/api/subscriptions`` (shapes in ``web.schemas``).

``POST /api/subscriptions`` asks for a subscription like the form does
(``web.subscribing``); the other calls take the token of a confirmation or
preferences link. Bodies must be ``application/json``, which another site's
form cannot send, so no CSRF token is needed. A call that changes something
runs in the request's unit of work and answers with what was stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from alerts import subscribe as subs
from alerts.tokens import TokenError, Tokens
from core.errors import DeliveryError, NotFoundError
from db.models import Subscriber
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from web import schemas, subscribing
from web.deps import FactoryDep, SessionDep, SettingsDep, TokensDep, UnitOfWorkDep
from web.locale import request_locale

router = APIRouter()


def _require_json(request: Request) -> None:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise HTTPException(status_code=415, detail="send the body as application/json")


def _subscriber_or_404(session: Session, tokens: Tokens, token: str) -> Subscriber:
    try:
        return subs.subscriber_for_preferences(session, tokens, token)
    except TokenError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc


@router.post("/api/subscriptions", status_code=202, tags=["subscriptions"])
def api_subscribe(
    request: Request,
    body: schemas.SubscribeIn,
    settings: SettingsDep,
    factory: FactoryDep,
    tokens: TokensDep,
) -> JSONResponse:
    """Ask for a subscription: a confirmation email goes out; the answer is always the same."""
    _require_json(request)
    if wait := subscribing.wait(request):
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
        locale=body.locale or request_locale(request),
    )
    try:
        subscribing.ask(
            request,
            factory,
            settings,
            tokens,
            email=body.email,
            topics=body.topics,
            preferences=prefs,
        )
    except (subs.AddressError, subs.PreferenceError, NotFoundError) as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    except DeliveryError as exc:
        raise HTTPException(
            status_code=503, detail="could not send the confirmation email; try later"
        ) from exc
    return JSONResponse({"status": "accepted", "detail": subscribing.ACCEPTED}, status_code=202)


@router.post("/api/subscriptions/confirm", tags=["subscriptions"])
def api_confirm(
    request: Request, body: schemas.ConfirmIn, session: UnitOfWorkDep, tokens: TokensDep
) -> schemas.SubscriberOut:
    """Open a confirmation link's token: its subscriptions start."""
    _require_json(request)
    try:
        confirmed = subs.confirm(session, tokens, body.token, now=datetime.now(UTC))
    except TokenError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    subscriber = confirmed[0].subscriber
    session.refresh(subscriber)
    return schemas.SubscriberOut.of(subscriber)


@router.get("/api/subscriptions/{token}", tags=["subscriptions"])
def api_preferences(token: str, session: SessionDep, tokens: TokensDep) -> schemas.SubscriberOut:
    """A subscriber's subscriptions; the token is the one in the preferences link."""
    return schemas.SubscriberOut.of(_subscriber_or_404(session, tokens, token))


@router.patch("/api/subscriptions/{token}", tags=["subscriptions"])
def api_update(
    request: Request,
    token: str,
    body: schemas.PreferencesPatch,
    session: UnitOfWorkDep,
    tokens: TokensDep,
) -> schemas.SubscriberOut:
    """Change settings, switch topics on or off; fields left out keep their value."""
    _require_json(request)
    subscriber = _subscriber_or_404(session, tokens, token)
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
            session,
            subscriber,
            timezone=body.timezone,
            locale=body.locale,
            changes=changes,
            now=datetime.now(UTC),
        )
    except (subs.PreferenceError, NotFoundError) as exc:
        # Raising rolls the request's unit of work back: nothing of the patch is kept.
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    session.refresh(subscriber)  # new subscriptions join the list
    return schemas.SubscriberOut.of(subscriber)


@router.delete("/api/subscriptions/{token}", tags=["subscriptions"])
def api_unsubscribe(
    token: str,
    session: UnitOfWorkDep,
    tokens: TokensDep,
    topic: Annotated[str | None, Query(max_length=100)] = None,
) -> schemas.SubscriberOut:
    """Unsubscribe from one topic (``?topic=slug``) or from all."""
    subscriber = _subscriber_or_404(session, tokens, token)
    for sub in subscriber.subscriptions:
        if topic is None or sub.topic.slug == topic:
            sub.active = False
    session.flush()
    return schemas.SubscriberOut.of(subscriber)
