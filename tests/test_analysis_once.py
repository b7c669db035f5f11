"""Matching and the search index share one analysis per story, and nothing they produce changes.

Stories in Russian, English and Tajik (from the labelled beat data, with and
without a language, body or summary, source and host) are matched by an alerts
pass, which indexes them from its own analyses. The index must then hold
exactly what a fresh rebuild writes (analysing every story anew), searches must
find the same stories, and the matches must be those of a pass that does not
index; and each story must have been analysed once between matching and
indexing, counted at the two places that analyse.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session, sessionmaker

import alerts.matching
import db.search.indexer
from alerts.matching import match_all_pending, match_stories
from core.query import Document, analyze_document
from db import queries
from db.models import Story, TopicMatch
from db.search import SearchRequest, rebuild, search, sync
from db.search.indexer import tokens_of
from db.search.tokens import story_tokens
from db.session import unit_of_work
from tests.conftest import ROOT
from tests.factories import story_record

BEAT = ROOT / "tests" / "data" / "beat"
BASE = datetime(2026, 3, 1, tzinfo=UTC)
TOPICS = {
    "liaison": "(МВД OR полиция OR police OR милиса) AND (Москва OR Moscow OR Маскав)",
    "migrants": "мигрант* OR migrant* OR муҳоҷир*",
    "asia-plus": 'source:"Asia Plus" AND (Душанбе OR Dushanbe)',
}
QUERIES = ["МВД", "migrants", "муҳоҷир*", "Душанбе OR Dushanbe", 'title:"police"', "lang:tg"]


def _rows(per_language: int) -> list[tuple[str, str, str]]:
    rows = []
    for lang in ("ru", "en", "tg"):
        lines = (BEAT / f"{lang}.jsonl").read_text(encoding="utf-8").splitlines()
        for line in lines[:per_language]:
            row = json.loads(line)
            rows.append((row["title"], row["text"], lang))
    return rows


def _store(factory: sessionmaker[Session], rows: list[tuple[str, str, str]]) -> None:
    with unit_of_work(factory) as session:
        plus, _ = queries.upsert_source(
            session=session, name="Asia Plus", url="https://a.example/rss"
        )
        for slug, query in TOPICS.items():
            queries.upsert_topic(session=session, slug=slug, name=slug, query=query)
        for i, (title, body, lang) in enumerate(rows):
            host = "news.ozodi.org" if i % 3 == 0 else "www.asiaplus.tj"
            queries.insert_story_if_new(
                session=session,
                record=story_record(
                    i,
                    f"https://{host}/{i}",
                    source_id=plus.id if i % 2 else None,
                    title=title,
                    body=body if i % 5 else "",
                    summary=body if i % 5 == 0 else "",
                    language=lang if i % 4 else None,
                    published_at=BASE + timedelta(hours=i),
                ),
            )


def _counting(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count the analyses made where matching and indexing make them (the real function runs)."""
    calls: Counter[str] = Counter()

    def counted(where: str) -> Callable[..., Any]:
        def analyse(document: Document, *args: Any, **kwargs: Any) -> Any:
            calls[where] += 1
            return analyze_document(document, *args, **kwargs)

        return analyse

    monkeypatch.setattr(alerts.matching, "analyze_document", counted("matching"))
    monkeypatch.setattr(db.search.indexer, "analyze_document", counted("indexing"))
    return calls


def _index_entries(factory: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    """What the index holds per story: its key and language, and its tokens on PostgreSQL."""
    with factory() as session:
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            sql = "SELECT story_id, sort_key, lang, positions_exact, tsv::text FROM search_docs"
        else:
            sql = "SELECT story_id, sort_key, lang FROM search_docs"
        return sorted(tuple(row) for row in session.execute(text(sql)))


def _found(factory: sessionmaker[Session]) -> dict[str, list[int]]:
    with factory() as session:
        return {
            q: [hit.story.id for hit in search(session, SearchRequest(query=q, limit=100)).hits]
            for q in QUERIES
        }


def _matches(factory: sessionmaker[Session]) -> list[tuple[int, int, str, str]]:
    with factory() as session:
        return sorted(
            (m.story_id, m.topic_id, m.via, json.dumps(m.why, ensure_ascii=False))
            for m in session.scalars(select(TopicMatch))
        )


@pytest.fixture
def stored(session_factory: sessionmaker[Session]) -> Iterator[sessionmaker[Session]]:
    _store(session_factory, _rows(8))
    yield session_factory


def test_an_alerts_pass_analyses_each_story_once_for_matching_and_the_index(
    stored: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with stored() as session:
        story_count = len(session.scalars(select(Story.id)).all())
        assert session.execute(text("SELECT count(*) FROM search_queue")).scalar_one() == (
            story_count
        )
    calls = _counting(monkeypatch)

    assert match_all_pending(stored) > 0

    assert calls == Counter(matching=story_count)  # the index made none of its own
    with stored() as session:
        assert session.execute(text("SELECT count(*) FROM search_queue")).scalar_one() == 0
    shared_entries, shared_found, shared_matches = (
        _index_entries(stored),
        _found(stored),
        _matches(stored),
    )
    assert any(shared_found.values())

    with unit_of_work(stored) as session:
        assert rebuild(session.connection()) == story_count  # every story analysed afresh
    assert calls["indexing"] == story_count
    assert _index_entries(stored) == shared_entries
    assert _found(stored) == shared_found

    with unit_of_work(stored) as session:
        session.execute(delete(TopicMatch))
        session.execute(update(Story).values(matched_at=None))
    with unit_of_work(stored) as session:
        match_stories(session, session.scalars(select(Story)).all(), index=False)
    assert _matches(stored) == shared_matches


def test_without_sharing_the_index_analyses_every_story_again(
    stored: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _counting(monkeypatch)
    with unit_of_work(stored) as session:
        stories = session.scalars(select(Story)).all()
        match_stories(session, stories, index=False)
    with unit_of_work(stored) as session:
        sync(session)
    assert calls == Counter(matching=len(stories), indexing=len(stories))


def test_an_analysis_of_other_text_is_not_reused() -> None:
    """The index uses a handed analysis only when it was made from the stored text."""
    own = tokens_of("МВД в Москве", "Текст.", "", "ru", 3, "https://a.example/1")
    other = analyze_document(Document(title="МВД в Душанбе", text="Текст.", lang="ru"))
    assert story_tokens(other, 3) != own
    assert tokens_of(
        "МВД в Москве", "Текст.", "", "ru", 3, "https://a.example/1", analysed=other
    ) == (own)
    same = analyze_document(
        Document(
            title="МВД в Москве",
            text="Текст.",
            lang="ru",
            source="Asia Plus",
            url="https://a.example/1",
        )
    )
    assert (
        tokens_of("МВД в Москве", "Текст.", "", "ru", 3, "https://a.example/1", analysed=same)
        == own
    )
