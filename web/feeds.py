"""A topic's Atom feed, ``/topics/{slug}/atom.xml``: its latest matches, for feed readers."""

from __future__ import annotations

from alerts.atom import MEDIA_TYPE, topic_feed
from core.errors import NotFoundError
from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from web.deps import SessionDep, SettingsDep

router = APIRouter()


@router.get("/topics/{slug}/atom.xml")
def atom_feed(slug: str, session: SessionDep, settings: SettingsDep) -> Response:
    try:
        body = topic_feed(session, settings, slug)
    except NotFoundError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    return Response(body, media_type=MEDIA_TYPE, headers={"Cache-Control": "max-age=300"})
