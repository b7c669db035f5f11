"""`/api/docs`: Swagger UI served from the installed package, so it works offline.

FastAPI's default docs page loads Swagger UI from a CDN, which shows a blank
page on a machine without internet and would need the page's Content-Security-
Policy to allow a foreign host. Here the assets come from the
``swagger-ui-py`` package (Swagger UI 5, which
reads the OpenAPI 3.1 documents FastAPI writes) under ``/api/docs/assets`` and the start-up code
is a file of our own (``web/static/swagger-init.js``), so the page runs with a
policy that allows scripts from this site only.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).with_name("static")
ASSETS = Path(str(files("swagger_ui") / "static"))

# Swagger UI needs scripts from this site, its icons as data: images and the
# OpenAPI document fetched from this site; nothing from anywhere else.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)


@router.get("/api/docs", response_class=HTMLResponse)
def docs_page(request: Request) -> HTMLResponse:
    response: HTMLResponse = request.app.state.templates.response(
        request, "api_docs.html", {"openapi_url": request.app.openapi_url}
    )
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


@router.get("/api/docs/init.js")
def docs_init() -> FileResponse:
    return FileResponse(STATIC / "swagger-init.js", media_type="text/javascript")


def install(app: FastAPI) -> None:
    """Mount the Swagger UI assets and the docs page (the app is made with docs_url=None)."""
    app.mount("/api/docs/assets", StaticFiles(directory=ASSETS), name="swagger-ui")
    app.include_router(router)
