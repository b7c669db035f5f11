"""Readers' feedback: "relevant" / "not relevant" for a story in a topic.

* ``/feedback/{token}``: the signed link in a digest entry (``alerts.tokens``
  binds subscriber, topic, story and verdict). A GET only shows the story and
  a button, so a mail scanner that fetches every link judges nothing; the
  button POSTs, and the POST needs no cookie (the token is the credential).
* ``POST /stories/{id}/feedback``: the story page's buttons, for the admin
  session (same origin, CSRF token: ``web.auth.check_admin_form``), answered
  with a redirect back to the story.

Both store through ``alerts.feedback`` in the request's unit of work; the
topic's relevance model retrains the next time matching runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from alerts import feedback
from alerts.feedback import FeedbackLink
from alerts.tokens import TokenError, Tokens
from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from web.auth import check_admin_form
from web.deps import SessionDep, TokensDep, UnitOfWorkDep
from web.locale import localized
from web.pages import render

router = APIRouter(include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _context(link: FeedbackLink, tokens: Tokens, token: str, done: bool) -> dict[str, object]:
    assert link.subscriber.token is not None
    other = tokens.feedback(link.subscriber.token, link.topic.id, link.story.id, not link.relevant)
    return {
        "link": link,
        "token": token,
        "done": done,
        "verdict": feedback.verdict(link.relevant),
        "other_verdict": feedback.verdict(not link.relevant),
        "other_url": f"/feedback/{other}",
        "error": None,
    }


@router.get("/feedback/{token}", response_class=HTMLResponse)
def feedback_page(request: Request, token: str, session: SessionDep, tokens: TokensDep) -> Response:
    """Shows a button: a link scanner fetching the URL records nothing."""
    try:
        link = feedback.feedback_link(session, tokens, token)
    except TokenError as exc:
        return render(request, "feedback.html", {"error": localized(request, exc)}, status_code=404)
    return render(request, "feedback.html", _context(link, tokens, token, done=False))


@router.post("/feedback/{token}", response_class=HTMLResponse)
def feedback_submit(
    request: Request, token: str, session: UnitOfWorkDep, tokens: TokensDep
) -> Response:
    try:
        link = feedback.record_from_link(session, tokens, token, now=datetime.now(UTC))
    except TokenError as exc:  # raised before anything changed
        return render(request, "feedback.html", {"error": localized(request, exc)}, status_code=404)
    return render(request, "feedback.html", _context(link, tokens, token, done=True))


@router.post("/stories/{story_id}/feedback")
def admin_feedback(
    request: Request,
    story_id: Id,
    session: UnitOfWorkDep,
    csrf: Annotated[str, Form(max_length=400)],
    topic: Annotated[str, Form(max_length=100)],
    relevant: Annotated[bool, Form()],
) -> Response:
    check_admin_form(request, csrf)
    feedback.record_by_admin(
        session, topic_slug=topic, story_id=story_id, relevant=relevant, now=datetime.now(UTC)
    )
    return RedirectResponse(f"/stories/{story_id}#feedback", status_code=303)
