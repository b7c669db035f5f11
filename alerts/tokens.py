"""Signed, single-purpose tokens for the links in emails and for web forms.

Each token signs one random per-row secret (a subscription's
``unsubscribe_token`` or a subscriber's ``token``) with the site's secret key
and a salt naming its purpose. So a token:

* cannot be guessed (the secret is random, the signature needs the key);
* cannot be turned into another address's token (changing the secret breaks
  the signature) nor used for another purpose (the salt differs: an
  unsubscribe token is no confirmation token);
* stays harmless when replayed: the actions it allows are idempotent.

Confirmation links expire; unsubscribe, preferences and feedback links do
not (a digest from last year must still unsubscribe), but replacing the row's
secret revokes them. A feedback link binds one subscriber (by secret), one
topic, one story and one verdict: it can record that judgment and nothing else.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from core.errors import ConfigError, WirewatchError
from core.secretfile import read_or_create_secret
from core.settings import Settings
from core.translatable import Translatable
from itsdangerous import (
    BadData,
    SignatureExpired,
    Signer,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)

CONFIRM_MAX_AGE = 7 * 24 * 3600
CSRF_MAX_AGE = 4 * 3600
_UNSUBSCRIBE = "wirewatch.unsubscribe"
_PREFERENCES = "wirewatch.preferences"
_CONFIRM = "wirewatch.confirm"
_CSRF = "wirewatch.csrf"
_FEEDBACK = "wirewatch.feedback"


class TokenError(WirewatchError):
    """A link's token is malformed, forged, expired or meant for something else."""


def new_secret() -> str:
    """A random per-row secret (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def secret_key(settings: Settings) -> bytes:
    """The configured key, or the one generated once into ``data_dir`` and shared from there."""
    if settings.secret_key is not None:
        value = settings.secret_key.get_secret_value().strip()
        if len(value) < 16:
            raise ConfigError("WIREWATCH_SECRET_KEY must be at least 16 characters long")
        return value.encode()
    path = settings.generated_secret_path("secret_key")
    try:
        return read_or_create_secret(path, nbytes=48).encode()
    except OSError as exc:
        raise ConfigError(
            f"no WIREWATCH_SECRET_KEY is set and {path} cannot be read or created: {exc}"
        ) from exc


@dataclass(frozen=True)
class ConfirmRequest:
    """What a confirmation link confirms: these subscriptions of this subscriber."""

    subscriber_secret: str
    subscription_ids: tuple[int, ...]


@dataclass(frozen=True)
class FeedbackRequest:
    """What a feedback link says: this subscriber judges this story for this topic."""

    subscriber_secret: str
    topic_id: int
    story_id: int
    relevant: bool


class Tokens:
    """Makes and checks every kind of token with one key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def from_settings(cls, settings: Settings) -> Tokens:
        return cls(secret_key(settings))

    # -- unsubscribe and preferences: the row's secret, signed --------------------------

    def unsubscribe(self, subscription_secret: str) -> str:
        return Signer(self._key, salt=_UNSUBSCRIBE).sign(subscription_secret).decode()

    def check_unsubscribe(self, token: str) -> str:
        """The subscription secret the token names."""
        return self._unsign(
            _UNSUBSCRIBE,
            token,
            Translatable.gettext("this unsubscribe link is not valid (was it copied completely?)"),
        )

    def preferences(self, subscriber_secret: str) -> str:
        return Signer(self._key, salt=_PREFERENCES).sign(subscriber_secret).decode()

    def check_preferences(self, token: str) -> str:
        """The subscriber secret the token names."""
        return self._unsign(
            _PREFERENCES,
            token,
            Translatable.gettext("this preferences link is not valid (was it copied completely?)"),
        )

    def _unsign(self, salt: str, token: str, invalid: Translatable) -> str:
        try:
            return Signer(self._key, salt=salt).unsign(token.strip()).decode()
        except (BadData, UnicodeDecodeError) as exc:
            raise TokenError(invalid) from exc

    # -- confirmation: which subscriptions, and an expiry --------------------------------

    def confirm(self, subscriber_secret: str, subscription_ids: list[int]) -> str:
        payload = {"s": subscriber_secret, "i": sorted(subscription_ids)}
        return URLSafeTimedSerializer(self._key, salt=_CONFIRM).dumps(payload)

    def check_confirm(self, token: str, *, max_age: int = CONFIRM_MAX_AGE) -> ConfirmRequest:
        serializer = URLSafeTimedSerializer(self._key, salt=_CONFIRM)
        try:
            payload: Any = serializer.loads(token.strip(), max_age=max_age)
        except SignatureExpired as exc:
            raise TokenError(
                Translatable.gettext(
                    "this confirmation link has expired; subscribe again to get a new one"
                )
            ) from exc
        except BadData as exc:
            raise TokenError(Translatable.gettext("this confirmation link is not valid")) from exc
        if not (
            isinstance(payload, dict)
            and isinstance(payload.get("s"), str)
            and isinstance(payload.get("i"), list)
            and all(isinstance(i, int) for i in payload["i"])
        ):
            raise TokenError(Translatable.gettext("this confirmation link is not valid"))
        return ConfirmRequest(payload["s"], tuple(payload["i"]))

    # -- feedback: one subscriber's verdict on one story for one topic ------------------

    def feedback(self, subscriber_secret: str, topic_id: int, story_id: int, relevant: bool) -> str:
        payload = {"s": subscriber_secret, "t": topic_id, "i": story_id, "v": int(relevant)}
        return URLSafeSerializer(self._key, salt=_FEEDBACK).dumps(payload)

    def check_feedback(self, token: str) -> FeedbackRequest:
        try:
            payload: Any = URLSafeSerializer(self._key, salt=_FEEDBACK).loads(token.strip())
        except BadData as exc:
            raise TokenError(
                Translatable.gettext("this feedback link is not valid (was it copied completely?)")
            ) from exc
        if not (
            isinstance(payload, dict)
            and isinstance(payload.get("s"), str)
            and all(type(payload.get(k)) is int for k in ("t", "i", "v"))
            and payload["v"] in (0, 1)
        ):
            raise TokenError(Translatable.gettext("this feedback link is not valid"))
        return FeedbackRequest(payload["s"], payload["t"], payload["i"], bool(payload["v"]))

    # -- CSRF: a form token bound to a random cookie value -------------------------------

    def csrf(self, cookie_value: str) -> str:
        return URLSafeTimedSerializer(self._key, salt=_CSRF).dumps(cookie_value)

    def check_csrf(self, token: str, cookie_value: str, *, max_age: int = CSRF_MAX_AGE) -> None:
        try:
            value = URLSafeTimedSerializer(self._key, salt=_CSRF).loads(token, max_age=max_age)
        except SignatureExpired as exc:
            raise TokenError(
                Translatable.gettext("the form has expired; reload the page and send it again")
            ) from exc
        except BadData as exc:
            raise TokenError(
                Translatable.gettext("the form could not be verified; reload the page")
            ) from exc
        if not cookie_value or not secrets.compare_digest(str(value), cookie_value):
            raise TokenError(
                Translatable.gettext("the form could not be verified; reload the page")
            )
