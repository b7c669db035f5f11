"""Subscribing with double opt-in, shared by the CLI, the web form and the JSON API.

Nothing is sent to an address before someone who reads its mailbox opens the
signed confirmation link. A request never changes a confirmed subscription
(that would let anyone change someone else's digests) and never reveals
whether the address is known: an address already subscribed gets an email
with its preferences link instead of a confirmation, and each address gets
at most one such email per ``CONFIRM_RESEND`` however often it is submitted.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from core import i18n
from core.errors import ConfigError, WirewatchError
from core.settings import Settings
from core.translatable import Translatable
from db import queries
from db.models import Frequency, Subscriber, Subscription, Topic
from db.session import unit_of_work
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import ORDERINGS, render
from alerts.schedule import zone
from alerts.senders import OutgoingMessage, Sender, send_with_retry
from alerts.senders.message import new_message_id
from alerts.tokens import TokenError, Tokens, new_secret

log = logging.getLogger(__name__)
CONFIRM_RESEND = timedelta(minutes=15)


class AddressError(WirewatchError):
    """The email address is not one we can send to."""


class PreferenceError(WirewatchError):
    """A subscription setting is out of range (hour, weekday, time zone, order)."""


def normalize_address(address: str) -> str:
    """The address in the form it is stored (syntax only: no DNS lookup on a web request)."""
    try:
        result = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise AddressError(
            Translatable.gettext(
                "%(address)r is not a valid email address: %(reason)s",
                address=address,
                reason=str(exc),
            )
        ) from exc
    return str(result.normalized).lower()


@dataclass(frozen=True)
class Preferences:
    """How one subscription is delivered; the time zone and language belong to the subscriber.

    ``locale`` None leaves the subscriber's language as it is (the settings'
    default for one who never chose).
    """

    frequency: Frequency = Frequency.DAILY
    timezone: str = "UTC"
    send_hour: int = 8
    send_weekday: int = 0
    include_updates: bool = True
    ordering: str = "newest"
    locale: str | None = None

    def checked(self) -> Preferences:
        try:
            zone(self.timezone)
        except ConfigError as exc:
            raise PreferenceError(exc.text or str(exc)) from exc
        if not 0 <= self.send_hour <= 23:
            raise PreferenceError(
                Translatable.gettext("hour %(hour)s is not between 0 and 23", hour=self.send_hour)
            )
        if not 0 <= self.send_weekday <= 6:
            raise PreferenceError(
                Translatable.gettext(
                    "weekday %(weekday)s is not between 0 (Monday) and 6",
                    weekday=self.send_weekday,
                )
            )
        if self.ordering not in ORDERINGS:
            raise PreferenceError(
                Translatable.gettext(
                    "order %(order)r is not one of %(known)s",
                    order=self.ordering,
                    known=", ".join(ORDERINGS),
                )
            )
        if self.locale is not None:
            try:
                return replace(self, locale=i18n.checked(self.locale))
            except i18n.UnknownLocaleError as exc:
                raise PreferenceError(str(exc)) from exc
        return self

    @classmethod
    def of(cls, sub: Subscription) -> Preferences:
        return cls(
            frequency=sub.frequency,
            timezone=sub.subscriber.timezone,
            send_hour=sub.send_hour,
            send_weekday=sub.send_weekday,
            include_updates=sub.include_updates,
            ordering=sub.ordering,
            locale=sub.subscriber.locale,
        )

    def apply(self, sub: Subscription) -> None:
        sub.frequency = self.frequency
        sub.send_hour = self.send_hour
        sub.send_weekday = self.send_weekday
        sub.include_updates = self.include_updates
        sub.ordering = self.ordering

    def describe(self, locale: str = "en") -> str:
        """ "daily at 09:00 (Asia/Dushanbe)", in the language of the message it goes in."""
        _ = i18n.gettext_for(locale)
        at = f"{self.send_hour:02d}:00"
        if self.frequency == Frequency.DAILY:
            return _("daily at %(time)s (%(zone)s)") % {"time": at, "zone": self.timezone}
        if self.frequency == Frequency.WEEKLY:
            return _("weekly on %(day)s at %(time)s (%(zone)s)") % {
                "day": i18n.weekday_names(locale)[self.send_weekday],
                "time": at,
                "zone": self.timezone,
            }
        if self.frequency == Frequency.HOURLY:
            return _("hourly")
        return _("as soon as stories match (batched)")


class Outcome(enum.StrEnum):
    """What a subscribe request did; never shown to the public, only logged and tested."""

    CONFIRMATION_SENT = "confirmation-sent"
    ALREADY_SUBSCRIBED = "already-subscribed-notice-sent"
    THROTTLED = "throttled"
    SUPPRESSED = "suppressed"
    CONFIRMED = "confirmed-by-operator"


@dataclass
class SubscribeResult:
    email: str
    outcome: Outcome
    subscription_ids: list[int] = field(default_factory=list)
    message: OutgoingMessage | None = None


def request_subscription(
    factory: sessionmaker[Session],
    settings: Settings,
    sender: Sender | None,
    *,
    email: str,
    topics: Sequence[str],
    preferences: Preferences,
    confirmed: bool = False,
    now: datetime | None = None,
    tokens: Tokens | None = None,
) -> SubscribeResult:
    """Record the request and send the confirmation (or "already subscribed") email.

    ``confirmed=True`` is for the operator only (the CLI's ``--confirmed``):
    the subscriptions start at once and no email is sent.
    """
    now = now or datetime.now(UTC)
    address = normalize_address(email)
    prefs = preferences.checked()
    if not topics:
        raise PreferenceError(Translatable.gettext("choose at least one topic"))
    tokens = tokens or Tokens.from_settings(settings)
    with unit_of_work(factory) as session:
        topic_rows = [queries.get_topic(session=session, slug=slug) for slug in topics]
        subscriber = queries.ensure_subscriber(
            session=session, email=address, timezone=prefs.timezone, locale=prefs.locale
        )
        if subscriber.suppressed_at is not None:
            log.info("subscribe request for suppressed address %s ignored", address)
            return SubscribeResult(address, Outcome.SUPPRESSED)
        subs = [_requested(session, subscriber, topic, prefs, confirmed) for topic in topic_rows]
        ids = [sub.id for sub in subs]
        if confirmed:
            _settle(subscriber, prefs)
            for sub in subs:
                sub.confirmed_at = sub.confirmed_at or now
            return SubscribeResult(address, Outcome.CONFIRMED, ids)
        pending = [sub for sub in subs if not sub.confirmed]
        if not any(s.confirmed and s.active for s in subscriber.subscriptions):
            # Nobody may change a confirmed subscriber's time zone or language just by asking.
            _settle(subscriber, prefs)
        last = subscriber.confirmation_sent_at
        if last is not None and now - last < CONFIRM_RESEND:
            return SubscribeResult(address, Outcome.THROTTLED, ids)
        if pending:
            # In the language it was asked in: whoever opens it made the request.
            locale = i18n.usable(prefs.locale or subscriber.locale, settings.default_locale)
            message = _confirmation(settings, tokens, subscriber, pending, prefs, locale)
            outcome = Outcome.CONFIRMATION_SENT
        else:
            # To a confirmed subscriber, in their language: the request may be anyone's.
            locale = i18n.usable(subscriber.locale, settings.default_locale)
            message = _already_subscribed(settings, tokens, subscriber, subs, locale)
            outcome = Outcome.ALREADY_SUBSCRIBED
        subscriber_id = subscriber.id
    if sender is not None:
        # Someone is waiting for the answer (a web request): a short, bounded try.
        send_with_retry(
            sender,
            message,
            max_attempts=min(settings.send_max_attempts, 3),
            backoff_max=min(settings.send_backoff_max_seconds, 2.0),
        )
    with unit_of_work(factory) as session:
        row = session.get(Subscriber, subscriber_id)
        if row is not None:
            row.confirmation_sent_at = now
    return SubscribeResult(address, outcome, ids, message)


def _settle(subscriber: Subscriber, prefs: Preferences) -> None:
    subscriber.timezone = prefs.timezone
    if prefs.locale is not None:
        subscriber.locale = prefs.locale


def _requested(
    session: Session, subscriber: Subscriber, topic: Topic, prefs: Preferences, confirmed: bool
) -> Subscription:
    sub = queries.subscription_for(session=session, subscriber=subscriber, topic=topic)
    if sub is None:
        sub = queries.new_subscription(
            session=session, subscriber=subscriber, topic=topic, frequency=prefs.frequency
        )
        prefs.apply(sub)
    elif confirmed or not (sub.confirmed and sub.active):
        # Pending or unsubscribed: the new request's settings apply once confirmed.
        prefs.apply(sub)
        if not sub.active:
            sub.active = True
            sub.confirmed = False
            sub.confirmed_at = None
    if confirmed:
        sub.confirmed = True
        sub.active = True
    session.flush()
    return sub


def _confirmation(
    settings: Settings,
    tokens: Tokens,
    subscriber: Subscriber,
    pending: list[Subscription],
    prefs: Preferences,
    locale: str,
) -> OutgoingMessage:
    assert subscriber.token is not None
    _ = i18n.gettext_for(locale)
    base = settings.base_url.rstrip("/")
    token = tokens.confirm(subscriber.token, [sub.id for sub in pending])
    context = {
        "email": subscriber.email,
        "topics": [sub.topic for sub in pending],
        "schedule": replace(prefs, timezone=subscriber.timezone).describe(locale),
        "confirm_url": f"{base}/confirm/{token}",
        "days": 7,
    }
    names = ", ".join(sub.topic.name for sub in pending)
    return OutgoingMessage(
        to=subscriber.email,
        from_addr=settings.mail_from,
        subject=(_("Confirm your subscription: %(topics)s") % {"topics": names})[:200],
        text=render("confirm.txt", locale, **context),
        html=render("confirm.html", locale, **context),
        headers={"Auto-Submitted": "auto-generated"},
        message_id=new_message_id(settings.mail_from),
        categories=("confirm",),
    )


def _already_subscribed(
    settings: Settings,
    tokens: Tokens,
    subscriber: Subscriber,
    subs: list[Subscription],
    locale: str,
) -> OutgoingMessage:
    assert subscriber.token is not None
    _ = i18n.gettext_for(locale)
    base = settings.base_url.rstrip("/")
    context = {
        "email": subscriber.email,
        "subscriptions": [(sub.topic, Preferences.of(sub).describe(locale)) for sub in subs],
        "preferences_url": f"{base}/preferences/{tokens.preferences(subscriber.token)}",
    }
    return OutgoingMessage(
        to=subscriber.email,
        from_addr=settings.mail_from,
        subject=_("You are already subscribed"),
        text=render("already.txt", locale, **context),
        html=render("already.html", locale, **context),
        headers={"Auto-Submitted": "auto-generated"},
        message_id=new_message_id(settings.mail_from),
        categories=("already-subscribed",),
    )


# -- following a link --------------------------------------------------------------------


def confirm(session: Session, tokens: Tokens, token: str, *, now: datetime) -> list[Subscription]:
    """Start the subscriptions a confirmation link names; opening it twice changes nothing."""
    request = tokens.check_confirm(token)
    subscriber = queries.subscriber_by_token(session=session, token=request.subscriber_secret)
    if subscriber is None:
        raise TokenError(
            Translatable.gettext("this confirmation link is no longer valid; subscribe again")
        )
    confirmed = []
    for sub in subscriber.subscriptions:
        if sub.id in request.subscription_ids and sub.active:
            if not sub.confirmed:
                sub.confirmed = True
                sub.confirmed_at = now
            confirmed.append(sub)
    if not confirmed:
        raise TokenError(
            Translatable.gettext("this confirmation link is no longer valid; subscribe again")
        )
    session.flush()
    return confirmed


def subscription_for_unsubscribe(session: Session, tokens: Tokens, token: str) -> Subscription:
    secret = tokens.check_unsubscribe(token)
    sub = queries.subscription_by_token(session=session, token=secret)
    if sub is None:
        raise TokenError(Translatable.gettext("this unsubscribe link is no longer valid"))
    return sub


def unsubscribe(session: Session, tokens: Tokens, token: str) -> Subscription:
    """Stop one subscription; replaying the link is harmless."""
    sub = subscription_for_unsubscribe(session, tokens, token)
    sub.active = False
    session.flush()
    return sub


def subscriber_for_preferences(session: Session, tokens: Tokens, token: str) -> Subscriber:
    secret = tokens.check_preferences(token)
    subscriber = queries.subscriber_by_token(session=session, token=secret)
    if subscriber is None:
        raise TokenError(Translatable.gettext("this preferences link is no longer valid"))
    return subscriber


@dataclass(frozen=True)
class Change:
    """One subscription's new settings from the preferences page or the API."""

    topic_slug: str
    active: bool
    preferences: Preferences


def update_preferences(
    session: Session,
    subscriber: Subscriber,
    *,
    timezone: str | None,
    changes: Sequence[Change],
    now: datetime,
    locale: str | None = None,
) -> list[Subscription]:
    """Apply the page's settings. Holding the preferences link proves the mailbox, so a
    topic added or switched back on here starts without another confirmation."""
    if timezone is not None:
        Preferences(timezone=timezone).checked()
        subscriber.timezone = timezone
    if locale is not None:
        subscriber.locale = Preferences(locale=locale).checked().locale
    touched = []
    for change in changes:
        prefs = change.preferences.checked()
        topic = queries.get_topic(session=session, slug=change.topic_slug)
        sub = queries.subscription_for(session=session, subscriber=subscriber, topic=topic)
        if sub is None:
            if not change.active:
                continue
            sub = queries.new_subscription(
                session=session, subscriber=subscriber, topic=topic, frequency=prefs.frequency
            )
        prefs.apply(sub)
        sub.active = change.active
        if change.active and not sub.confirmed:
            sub.confirmed = True
            sub.confirmed_at = now
        touched.append(sub)
    session.flush()
    return touched


def rotate_links(session: Session, subscriber: Subscriber) -> None:
    """Revoke every confirmation and preferences link sent to this subscriber."""
    subscriber.token = new_secret()
    session.flush()
