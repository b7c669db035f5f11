"""Errors as answers: JSON under /api and for non-browser clients, an escaped HTML page otherwise.

Error messages may quote user input (a query, a URL); the HTML page escapes
them like any other text (ADVERSARIAL case 23).
"""

from __future__ import annotations

from core.errors import NotFoundError, QueryError, SourceError
from core.translatable import N_
from db.search import SearchRequestError
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from wirewatch.catalog import CatalogError
from wirewatch.events import EventError

from web.locale import gettext, localized
from web.pages import render

TITLES = {
    401: N_("Log in needed"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    422: N_("Cannot do that"),
    429: N_("Too many requests"),
}


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api") and "text/html" in request.headers.get(
        "accept", ""
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not _wants_html(request):
        return await http_exception_handler(request, exc)
    _ = gettext(request)
    context = {
        "status": exc.status_code,
        "title": _(TITLES.get(exc.status_code, N_("Something went wrong"))),
        "message": exc.detail if isinstance(exc.detail, str) else _("request refused"),
    }
    response = render(request, "error.html", context, status_code=exc.status_code)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _domain_error(request: Request, exc: Exception) -> Response:
    status = 404 if isinstance(exc, NotFoundError) else 422
    if _wants_html(request):
        return await _http_error(request, StarletteHTTPException(status, localized(request, exc)))
    body: dict[str, object] = {"detail": str(exc)}
    if isinstance(exc, QueryError):
        body["position"] = exc.position
    return JSONResponse(body, status_code=status)


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for error in (
        NotFoundError,
        QueryError,
        SourceError,
        CatalogError,
        EventError,
        SearchRequestError,
    ):
        app.add_exception_handler(error, _domain_error)
