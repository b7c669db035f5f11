"""Subscription pages: one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from db import queries
from web.deps import SessionDep, TemplatesDep

router = APIRouter()


@router.get("/u/{token}", response_class=HTMLResponse)
def unsubscribe_page(
    request: Request, token: str, session: SessionDep, templates: TemplatesDep
) -> Response:
    """A GET only shows a button: link scanners must not unsubscribe anyone."""
    sub = queries.subscription_by_token(session=session, token=token)
    return templates.TemplateResponse(
        request,
        "unsubscribe.html",
        {"sub": sub, "token": token, "done": False},
        status_code=200 if sub else 404,
    )


@router.post("/u/{token}", response_class=HTMLResponse)
def unsubscribe_post(
    request: Request,
    token: str,
    session: SessionDep,
    templates: TemplatesDep,
    list_unsubscribe: Annotated[str | None, Form(alias="List-Unsubscribe")] = None,
) -> Response:
    """One-click unsubscribe (RFC 8058) and the confirm button both land here."""
    sub = queries.subscription_by_token(session=session, token=token)
    if sub is None:
        raise HTTPException(status_code=404, detail="unknown or expired unsubscribe link")
    sub.active = False
    session.commit()
    return templates.TemplateResponse(
        request, "unsubscribe.html", {"sub": sub, "token": token, "done": True}
    )
