"""Which language a page is in, and the templates for each language.

A reader's explicit choice (the header's language links, kept in a cookie)
wins; otherwise the browser's Accept-Language decides; otherwise the
``default_locale`` setting. Each language has its own template environment
(``core.i18n.install``), so pages rendered at once in different languages
never share a catalogue.
"""

from __future__ import annotations

import gettext as gettext_module
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from core import i18n
from core.errors import WirewatchError
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from web.status_words import status_word

router = APIRouter(include_in_schema=False)
LOCALE_COOKIE = "ww_locale"
# A year: the choice is a preference, not a session.
LOCALE_COOKIE_MAX_AGE = 365 * 24 * 3600


def request_locale(request: Request) -> str:
    """The language of this request's page (cached on the request)."""
    cached = getattr(request.state, "locale", None)
    if isinstance(cached, str):
        return cached
    default: str = request.app.state.settings.default_locale
    chosen = request.cookies.get(LOCALE_COOKIE)
    code = (
        chosen
        if chosen in i18n.LOCALES
        else i18n.negotiate(request.headers.get("accept-language"), default)
    )
    request.state.locale = code
    return code


def gettext(request: Request) -> Callable[[str], str]:
    """The request's ``gettext``, for text a handler puts on a page."""
    return i18n.gettext_for(request_locale(request))


def request_translations(request: Request) -> gettext_module.NullTranslations:
    """The request's catalogue, for text built outside a template (charts, errors)."""
    return i18n.translations(request_locale(request))


def localized(request: Request, error: Exception) -> str:
    """An error's message in the request's language (the CLI and the logs keep ``str()``)."""
    if isinstance(error, WirewatchError):
        return error.localized(request_translations(request))
    return str(error)


def safe_next(target: str) -> str:
    """Only paths on this site: never redirect to another host."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


class LocalizedTemplates:
    """One ``Jinja2Templates`` per interface language; a response picks the request's."""

    def __init__(self, directory: Path) -> None:
        self.by_locale = {code: self._templates(directory, code) for code in i18n.LOCALES}

    @staticmethod
    def _templates(directory: Path, code: str) -> Jinja2Templates:
        environment = Environment(loader=FileSystemLoader(str(directory)), autoescape=True)
        catalogue = i18n.translations(code)
        environment.filters["status"] = lambda word, kind: status_word(word, kind, catalogue)
        return Jinja2Templates(env=i18n.install(environment, code))

    def response(
        self, request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
    ) -> Response:
        code = request_locale(request)
        full = {"languages": i18n.locales(), "here": _here(request), **context}
        response: Response = self.by_locale[code].TemplateResponse(
            request, name, full, status_code=status_code
        )
        response.headers["Content-Language"] = code
        # The same address answers in another language for another cookie or browser.
        response.headers["Vary"] = "Accept-Language, Cookie"
        return response


def _here(request: Request) -> str:
    """This page's path and query, for the language links to come back to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


@router.get("/locale/{code}")
def choose_locale(
    request: Request,
    code: Annotated[str, PathParam(max_length=16)],
    next: Annotated[str, Query(max_length=2000)] = "/",
) -> Response:
    """The header's language links: remember the choice, go back to the page."""
    response = RedirectResponse(safe_next(next), status_code=303)
    try:
        chosen = i18n.checked(code)
    except i18n.UnknownLocaleError:
        return response
    settings = request.app.state.settings
    response.set_cookie(
        LOCALE_COOKIE,
        chosen,
        max_age=LOCALE_COOKIE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
        path="/",
    )
    return response
