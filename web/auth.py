"""Who may do what: the admin token, the admin session cookie, CSRF for admin forms.

Admin actions (sources, crawls, topics) need the admin token, sent as
``Authorization: Bearer TOKEN`` (API, scripts) or typed once into the login
form, which sets a signed, HttpOnly, SameSite=Strict session cookie. Forms
posted with that cookie also carry a CSRF token bound to the session, and a
POST whose Origin names another site is refused. Reading the archive is open
unless ``archive_public`` is off. ``/metrics`` takes its own bearer token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from alerts.tokens import TokenError, Tokens, secret_key
from core.errors import ConfigError
from core.secretfile import read_or_create_secret
from core.settings import Settings
from fastapi import Depends, HTTPException, Request
from itsdangerous import BadData, URLSafeTimedSerializer

SESSION_COOKIE = "ww_admin"
SESSION_MAX_AGE = 12 * 3600
_SESSION_SALT = "wirewatch.admin-session"


def admin_token(settings: Settings) -> str:
    """The configured admin token, or the one generated once into ``data_dir``."""
    if settings.admin_token is not None:
        value = settings.admin_token.get_secret_value().strip()
        if len(value) < 16:
            raise ConfigError("WIREWATCH_ADMIN_TOKEN must be at least 16 characters long")
        return value
    path = settings.generated_secret_path("admin_token")
    try:
        return read_or_create_secret(path, nbytes=32)
    except OSError as exc:
        raise ConfigError(
            f"no WIREWATCH_ADMIN_TOKEN is set and {path} cannot be read or created: {exc}"
        ) from exc


@dataclass(frozen=True)
class Guard:
    """The secrets one app checks requests against (built once per app)."""

    admin: str
    metrics: str | None
    public: bool
    tokens: Tokens
    serializer: URLSafeTimedSerializer
    secure_cookies: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> Guard:
        key = secret_key(settings)
        metrics = (
            settings.metrics_token.get_secret_value().strip() if settings.metrics_token else None
        )
        return cls(
            admin=admin_token(settings),
            metrics=metrics or None,
            public=settings.archive_public,
            tokens=Tokens(key),
            serializer=URLSafeTimedSerializer(key, salt=_SESSION_SALT),
            secure_cookies=settings.base_url.startswith("https://"),
        )

    @property
    def _fingerprint(self) -> str:
        # A new admin token ends every session made with the old one.
        return hashlib.sha256(self.admin.encode()).hexdigest()[:16]

    def check_token(self, offered: str) -> bool:
        return secrets.compare_digest(offered.strip().encode(), self.admin.encode())

    def new_session(self) -> str:
        return self.serializer.dumps({"sid": secrets.token_urlsafe(16), "t": self._fingerprint})

    def session_id(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            data = self.serializer.loads(cookie, max_age=SESSION_MAX_AGE)
        except BadData:
            return None
        if not isinstance(data, dict) or data.get("t") != self._fingerprint:
            return None
        sid = data.get("sid")
        return sid if isinstance(sid, str) else None

    def csrf_for(self, cookie: str | None) -> str:
        sid = self.session_id(cookie)
        return self.tokens.csrf(sid) if sid else ""


def guard(request: Request) -> Guard:
    found: Guard = request.app.state.guard
    return found


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def is_admin(request: Request) -> bool:
    """Bearer admin token, or a valid admin session cookie."""
    g = guard(request)
    token = _bearer(request)
    if token is not None:
        return g.check_token(token)
    return g.session_id(request.cookies.get(SESSION_COOKIE)) is not None


def require_admin_api(request: Request) -> None:
    """API admin calls: the bearer token (cookies are not accepted, so no CSRF exposure)."""
    token = _bearer(request)
    if token is None or not guard(request).check_token(token):
        raise HTTPException(
            status_code=401,
            detail="admin token required: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


def require_reader(request: Request) -> None:
    """Reading the archive: open, unless archive_public is off."""
    if guard(request).public or is_admin(request):
        return
    raise HTTPException(
        status_code=401,
        detail="this archive is private: log in or send 'Authorization: Bearer <token>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


def require_metrics(request: Request) -> None:
    g = guard(request)
    token = _bearer(request)
    expected = g.metrics or g.admin
    if token is None or not secrets.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(
            status_code=401,
            detail="metrics token required: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


def same_origin(request: Request) -> bool:
    """A form POST from a page of this site (browsers send Origin on POST)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", request.url.netloc)


def check_admin_form(request: Request, csrf_token: str) -> None:
    """A web form that changes something: admin session, same origin, valid CSRF token."""
    g = guard(request)
    sid = g.session_id(request.cookies.get(SESSION_COOKIE))
    if sid is None:
        raise HTTPException(status_code=401, detail="log in with the admin token first")
    if not same_origin(request):
        raise HTTPException(status_code=403, detail="cross-site form submission refused")
    try:
        g.tokens.check_csrf(csrf_token, sid)
    except TokenError as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from exc


AdminApi = Annotated[None, Depends(require_admin_api)]
Reader = Annotated[None, Depends(require_reader)]
MetricsAuth = Annotated[None, Depends(require_metrics)]
