"""A request that writes is one unit of work: committed before its answer, rolled back on error."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.background import BackgroundTask

from db import queries
from web.deps import UnitOfWorkDep


def _slugs(factory: sessionmaker[Session]) -> set[str]:
    with factory() as session:
        return {t.slug for t in queries.list_topics(session=session)}


def test_a_request_is_one_unit_of_work(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    app = FastAPI()
    app.state.sessions = session_factory
    seen_after_answer: list[set[str]] = []

    @app.post("/kept")
    def kept(session: UnitOfWorkDep) -> JSONResponse:
        queries.upsert_topic(session=session, slug="kept", name="K", query="a")
        # Runs once the answer is out: the change must already be stored by then.
        check = BackgroundTask(lambda: seen_after_answer.append(_slugs(session_factory)))
        return JSONResponse({"ok": True}, background=check)

    @app.post("/refused")
    def refused(session: UnitOfWorkDep) -> None:
        queries.upsert_topic(session=session, slug="refused", name="R", query="a")
        raise HTTPException(status_code=422, detail="no")

    @app.post("/crashed")
    def crashed(session: UnitOfWorkDep) -> None:
        queries.upsert_topic(session=session, slug="crashed", name="C", query="a")
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/kept").status_code == 200
        assert client.post("/refused").status_code == 422
        assert client.post("/crashed").status_code == 500
    assert seen_after_answer == [{"kept"}]
    assert _slugs(session_factory) == {"kept"}
