"""Rendering a page: the template, in the reader's language, plus what every page's header
needs (admin state, CSRF)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from web.auth import SESSION_COOKIE, guard, is_admin
from web.locale import LocalizedTemplates


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    templates: LocalizedTemplates = request.app.state.templates
    admin = is_admin(request)
    full = {
        "admin": admin,
        "csrf": guard(request).csrf_for(request.cookies.get(SESSION_COOKIE)) if admin else "",
        **context,
    }
    response = templates.response(request, name, full, status_code=status_code)
    response.headers.setdefault("Cache-Control", "no-store" if admin else "no-cache")
    return response
