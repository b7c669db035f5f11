"""Archive search on both engines: the index must give exactly the topic matcher's answers.

Every query below runs twice: through ``db.search`` (index + planning +
matcher where the index is not exact) and by brute force (the matcher on
every stored story). The result sets must be equal, page by page, for hand
written queries covering the whole grammar and for queries generated from the
labelled ru/en/tg stories.
"""

from __future__ import annotations

import importlib
import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from core.across import across_languages
from core.errors import NotFoundError, QueryError
from core.query import Document, analyze_document, parse
from core.query.normalize import WORD_RE
from db import queries
from db.models import Cluster, Source, Story
from db.search import (
    SearchRequest,
    SearchRequestError,
    compiled,
    facets,
    indexer,
    pending_count,
    schema,
    search,
    sync,
)
from db.session import unit_of_work
from tests.conftest import ROOT
from tests.factories import revision_of, story_record

# The module, not the function db.search exports under the same name.
facets_module = importlib.import_module("db.search.facets")

STORIES = ROOT / "tests" / "data" / "topic_police_liaison.jsonl"
BASE = datetime(2026, 1, 1, tzinfo=UTC)

# Stories that exercise folding and tokenising corners the labelled set lacks.
EXTRA = [
    ("Мигра\u0301нтов встретили в Душанбе", "Ударение и мягкий пере\u00adнос внутри слов.", "ru"),
    ("MВД Таджикистана", "Слово набрано с латинской M.", None),
    ("Ёлки и елки", "Ёжик в тумане. ЁЛКИ.", "ru"),
    ("Россия-Таджикистан: переговоры", "Делегации Россия-Таджикистан встретились.", "ru"),
    ("O'Brien visits the Home Office", "Patrick O’Brien met officers; offices closed.", "en"),
    ("Муҳоҷирони меҳнатӣ", "Муҳоҷиронро дар Маскав пазируфтанд. Мухочирон.", "tg"),
    ("2026 год: 15% рост", "Цифры 15 и 2026, а также 3.14 и v2.", "ru"),
    ('Quoted "NEAR/3" AND (operators)', "Words: and or not near title lang source.", "en"),
]


def _load(factory: sessionmaker[Session]) -> None:
    rows = [json.loads(line) for line in STORIES.read_text(encoding="utf-8").splitlines()]
    items = [(r["title"], r["text"], r["lang"]) for r in rows] + EXTRA
    with unit_of_work(factory) as session:
        plus, _ = queries.upsert_source(
            session=session, name="Asia Plus", url="https://a.example/rss"
        )
        ozodi, _ = queries.upsert_source(session=session, name="ozodi", url="https://o.example/rss")
        for i, (title, body, lang) in enumerate(items):
            host = "news.ozodi.org" if i % 3 == 0 else "www.asiaplustj.info"
            queries.insert_story_if_new(
                session=session,
                record=story_record(
                    i,
                    f"https://{host}/{i}",
                    source_id=(plus.id, ozodi.id, None)[i % 3],
                    title=title,
                    body=body if i % 7 else "",
                    summary=body if i % 7 == 0 else "",
                    language=lang if i % 4 else None,
                    published_at=BASE + timedelta(hours=5 * i) if i % 5 else None,
                    fetched_at=BASE + timedelta(hours=3 * i + 1),
                ),
            )


@pytest.fixture
def archive(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    _load(session_factory)
    with unit_of_work(session_factory) as session:
        sync(session)
    return session_factory


def _documents(factory: sessionmaker[Session]) -> dict[int, Document]:
    with factory() as session:
        rows = session.query(Story).all()
        return {
            s.id: Document(
                title=s.title,
                text=s.body or s.summary,
                lang=s.language,
                source=s.source.name if s.source else None,
                url=s.canonical_url,
            )
            for s in rows
        }


def _brute(docs: dict[int, Document], query: str) -> set[int]:
    # archive search finds each word's equivalents in the other languages by default
    compiled = across_languages(parse(query))
    return {sid for sid, doc in docs.items() if compiled.matches(analyze_document(doc))}


def _all_pages(factory: sessionmaker[Session], request: SearchRequest) -> list[int]:
    found: list[int] = []
    cursor = None
    for _ in range(200):
        with factory() as session:
            page = search(session, SearchRequest(**{**request.__dict__, "cursor": cursor}))
        found.extend(hit.story.id for hit in page.hits)
        cursor = page.next_cursor
        if cursor is None:
            return found
    raise AssertionError("pagination did not end")


HAND_WRITTEN = [
    "МВД",
    "мигрантов",
    "мигранты",
    "Dushanbe",
    "Душанбе",
    "Rahmon",
    '"трудовых мигрантов"',
    '"трудовых мигрантов"~2',
    "МВД AND Москва",
    "МВД OR полиция",
    "МВД -Москва",
    "NOT МВД",
    "NOT (МВД OR police)",
    "title:МВД",
    'title:"МВД России"',
    "title:(Tajik OR Таджикистан) office",
    "lang:en",
    "lang:tj",
    "lang:(tg OR ru) мигрант*",
    'source:"Asia Plus"',
    "source:asia*",
    "source:ozodi OR source:nosuch",
    "domain:ozodi.org",
    "domain:asiaplustj.info AND Москве",
    "domain:ozod*",
    "domain:tj",
    "мигра*",
    "offic*",
    "=office",
    "office",
    "=мигрантов",
    "@tj-interior-ministry",
    "@tj-interior-ministry NEAR/10 (представительство OR office)",
    '(@tj-interior-ministry OR полиция) NEAR/10 (представительство OR "representative =office")',
    "МВД NEAR/3 Таджикистана",
    "police NEAR/1 office",
    "police NEAR/40 Moscow",
    '"police liaison"~2',
    "муҳоҷирон",
    "мухочир",
    "Tajik -Russia",
    "Россия-Таджикистан",
    "ёлки",
    "елки",
    "MВД",
    "O'Brien",
    "обриен",
    "15",
    "2026 AND рост",
    '"near/3"',
    "and or",
    "Мигрантов",
    "ministry AND NOT (lang:ru OR title:Russia)",
]


def test_hand_written_queries_agree_with_the_matcher(archive: sessionmaker[Session]) -> None:
    docs = _documents(archive)
    for query in HAND_WRITTEN:
        got = _all_pages(archive, SearchRequest(query=query, collapse=False, limit=7))
        assert len(got) == len(set(got)), f"{query}: a story came twice across pages"
        assert set(got) == _brute(docs, query), query


def _generated_queries(docs: dict[int, Document], n: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    texts = [f"{d.title} {d.text}" for d in docs.values()]
    for _ in range(n):
        words = [w for w in WORD_RE.findall(rng.choice(texts)) if len(w) > 1]
        if len(words) < 4:
            continue
        a, b = rng.sample(words, 2)
        i = rng.randrange(len(words) - 1)
        kind = rng.randrange(9)
        if kind == 0:
            yield a
        elif kind == 1:
            yield f"{a} AND {b}"
        elif kind == 2:
            yield f"{a} OR {b} -{rng.choice(words)}"
        elif kind == 3:
            yield f'"{words[i]} {words[i + 1]}"'
        elif kind == 4:
            yield f"{a} NEAR/{rng.randint(1, 12)} {b}"
        elif kind == 5 and len(a) >= 4:
            yield a[: rng.randint(3, len(a))] + "*"
        elif kind == 6:
            yield f"title:{a} OR ={b}"
        elif kind == 7:
            j = min(i + 2, len(words) - 1)
            yield f'"{words[i]} {words[j]}"~{rng.randint(1, 3)}'
        else:
            yield f"({a} OR {b}) NEAR/{rng.randint(1, 20)} {rng.choice(words)}"


def test_generated_queries_agree_with_the_matcher(archive: sessionmaker[Session]) -> None:
    docs = _documents(archive)
    checked = 0
    for query in _generated_queries(docs, 160, seed=5):
        try:
            expected = _brute(docs, query)
        except QueryError:
            continue
        got = _all_pages(archive, SearchRequest(query=query, collapse=False, limit=50))
        assert set(got) == expected, query
        checked += 1
    assert checked > 120


def test_the_default_topic_query_agrees(archive: sessionmaker[Session]) -> None:
    import yaml

    topics = yaml.safe_load((ROOT / "core" / "data" / "default_topics.yaml").read_text())
    docs = _documents(archive)
    for topic in topics:
        got = _all_pages(archive, SearchRequest(query=topic["query"], collapse=False, limit=20))
        expected = _brute(docs, topic["query"])
        assert set(got) == expected and expected, topic["slug"]


@pytest.mark.parametrize("index", ["without-distances", "none"])
def test_a_tsquery_too_big_for_postgresql_is_checked_by_the_matcher(
    archive: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, index: str
) -> None:
    """PostgreSQL refuses a tsquery over 1 MB (the default topic's, rendered with every
    NEAR distance): the search then asks the index less and the matcher decides."""
    query = "(police OR полиция OR МВД) NEAR/8 (office OR представительство OR agreement)"
    with archive() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("only PostgreSQL limits a tsquery's size")
        whole = compiled.compile_request(session, SearchRequest(query=query))
    assert whole.match is not None and whole.loose is not None
    sizes = len(whole.loose.encode()), len(whole.match.encode())
    assert sizes[0] < sizes[1]
    limit = sizes[0] if index == "without-distances" else sizes[0] - 1
    monkeypatch.setattr(compiled, "PG_TSQUERY_MAX_BYTES", limit)
    with archive() as session:
        c = compiled.compile_request(session, SearchRequest(query=query))
    assert not c.exact and not c.positional
    assert c.match == (whole.loose if index == "without-distances" else None)
    got = _all_pages(archive, SearchRequest(query=query, collapse=False, limit=20))
    expected = _brute(_documents(archive), query)
    assert set(got) == expected and expected


def _force_pg_windows(
    archive: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, skip_reason: str
) -> dict[int, datetime]:
    """Make PostgreSQL use time windows on this small archive; each story's time."""
    with archive() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip(skip_reason)
        when = {s.id: s.published_at or s.fetched_at for s in session.query(Story)}
    with archive() as session, session.begin():
        session.execute(text("ANALYZE search_docs"))  # the plan reads the table's size
    monkeypatch.setattr(compiled, "PG_WINDOW_MIN_STORIES", 0)
    return when


@pytest.mark.parametrize("budget", [60.0, 0.0], ids=["whole-windows", "one-window-per-page"])
def test_time_windows_give_the_matchers_answers_newest_first(
    archive: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, budget: float
) -> None:
    """PostgreSQL looks through time windows, newest first, on big archives only: forced here.

    With no time budget every page stops after one window and hands on a cursor,
    so pages may be empty; together they must still be exactly the matches, in order.
    """
    when = _force_pg_windows(
        archive, monkeypatch, "time windows are PostgreSQL's plan; SQLite walks the index by time"
    )
    monkeypatch.setattr(compiled, "PG_WINDOW_BUDGET", budget)
    docs = _documents(archive)
    queries_ = HAND_WRITTEN + list(_generated_queries(docs, 60, seed=9))
    ranges = [(None, None), (BASE + timedelta(days=4), BASE + timedelta(days=30))]
    checked = 0
    for query in queries_:
        try:
            expected = _brute(docs, query)
        except QueryError:
            continue
        for since, until in ranges:
            request = SearchRequest(query=query, collapse=False, limit=7, since=since, until=until)
            got = _all_pages(archive, request)
            wanted = {
                i
                for i in expected
                if (since is None or when[i] >= since) and (until is None or when[i] < until)
            }
            assert len(got) == len(set(got)), f"{query}: a story came twice across pages"
            assert set(got) == wanted, (query, since)
            assert all(when[a] >= when[b] for a, b in pairwise(got)), query
        checked += 1
    assert checked > 80


def test_newest_first_and_keyset_pages_have_no_gaps(archive: sessionmaker[Session]) -> None:
    whole = _all_pages(archive, SearchRequest(query="", collapse=False, limit=100))
    paged = _all_pages(archive, SearchRequest(query="", collapse=False, limit=9))
    assert paged == whole and len(whole) == len(_documents(archive))
    with archive() as session:
        when = {s.id: s.published_at or s.fetched_at for s in session.query(Story)}
    times = [when[i] for i in whole]
    assert all(a >= b for a, b in pairwise(times))


def test_filters_date_source_language_topic(archive: sessionmaker[Session]) -> None:
    docs = _documents(archive)
    with archive() as session:
        stories = {s.id: s for s in session.query(Story)}
    since, until = BASE + timedelta(days=5), BASE + timedelta(days=20)
    got = _all_pages(archive, SearchRequest(since=since, until=until, collapse=False))
    assert set(got) == {
        i for i, s in stories.items() if since <= (s.published_at or s.fetched_at) < until
    }
    got = _all_pages(archive, SearchRequest(query="Москв*", source="ozodi", collapse=False))
    assert set(got) == _brute(docs, "Москв* AND source:ozodi")
    got = _all_pages(archive, SearchRequest(language="tj", collapse=False))
    assert set(got) == _brute(docs, "lang:tg")
    with unit_of_work(archive) as session:
        topic, _ = queries.upsert_topic(session=session, slug="t", name="T", query="x")
        for story_id in list(stories)[:5]:
            queries.record_topic_match(
                session=session, story_id=story_id, topic_id=topic.id, why=[], when=BASE
            )
    assert set(_all_pages(archive, SearchRequest(topic="t", collapse=False))) == set(
        list(stories)[:5]
    )
    with archive() as session, pytest.raises(NotFoundError):
        search(session, SearchRequest(source="nope"))
    with archive() as session, pytest.raises(NotFoundError):
        search(session, SearchRequest(topic="nope"))


def test_one_entry_per_cluster_newest_matching_member(archive: sessionmaker[Session]) -> None:
    with unit_of_work(archive) as session:
        ids = [
            s.id for s in session.query(Story).filter(Story.title.like("%МВД%")).order_by(Story.id)
        ][:4]
        cluster = Cluster(size=4, languages={"ru": 4})
        session.add(cluster)
        session.flush()
        session.query(Story).filter(Story.id.in_(ids)).update(
            {Story.cluster_id: cluster.id}, synchronize_session=False
        )
        cluster_id = cluster.id
    with archive() as session:
        when = {s.id: s.published_at or s.fetched_at for s in session.query(Story)}
    collapsed = _all_pages(archive, SearchRequest(query="МВД", limit=3))
    full = _all_pages(archive, SearchRequest(query="МВД", collapse=False, limit=3))
    in_cluster = [i for i in collapsed if i in ids]
    assert in_cluster == [max(ids, key=lambda i: (when[i], i))]
    assert set(collapsed) == (set(full) - set(ids)) | set(in_cluster)
    # the entry is the newest member that matches: a word only the older one has shows it
    with unit_of_work(archive) as session:
        pair = Cluster(size=2, languages={"ru": 2})
        session.add(pair)
        session.flush()
        for n, title in enumerate(("Кенгуру прибыл в Москву", "Москва встречает гостей")):
            story_id = queries.insert_story_if_new(
                session=session,
                record=story_record(
                    f"pair{n}",
                    f"https://p.example/{n}",
                    title=title,
                    language="ru",
                    published_at=BASE + timedelta(days=400 + n),
                    fetched_at=BASE,
                ),
            )
            session.query(Story).filter(Story.id == story_id).update({Story.cluster_id: pair.id})
        sync(session)
    with archive() as session:
        old, new = (
            session.query(Story.id).filter(Story.cluster_id == pair.id).order_by(Story.id).all()
        )
    assert _all_pages(archive, SearchRequest(query="кенгуру")) == [old[0]]
    both = _all_pages(archive, SearchRequest(query="Москв*", limit=100))
    assert new[0] in both and old[0] not in both
    members = _all_pages(archive, SearchRequest(cluster=cluster_id, limit=2))
    assert sorted(members) == sorted(ids)
    with archive() as session:
        page = search(session, SearchRequest(query="МВД", limit=50))
    assert {h.cluster_size for h in page.hits if h.story.id in ids} == {4}


def test_relevance_puts_title_matches_first(archive: sessionmaker[Session]) -> None:
    docs = _documents(archive)
    got = _all_pages(archive, SearchRequest(query="мигрантов", sort="relevance", limit=4))
    assert set(got) == _brute(docs, "мигрантов") and len(got) == len(set(got))
    with archive() as session:
        page = search(session, SearchRequest(query="мигрантов", sort="relevance", limit=3))
        # A title match, in any language the search reaches (Tajik "муҳоҷирон" is one).
        assert "<mark>" in str(page.hits[0].title_html), page.hits[0].title_html
        assert page.hits[0].score is not None
        newest = search(session, SearchRequest(query="мигрантов", limit=1))
        assert newest.next_cursor is not None
        with pytest.raises(SearchRequestError):
            search(
                session,
                SearchRequest(query="мигрантов", sort="relevance", cursor=newest.next_cursor),
            )


def test_facets_count_per_day_and_language(archive: sessionmaker[Session]) -> None:
    docs = _documents(archive)
    for query in ("МВД", '"трудовых мигрантов"', "police NEAR/3 office", ""):
        with archive() as session:
            counts = facets(session, SearchRequest(query=query))
        expected = _brute(docs, query) if query else set(docs)
        assert counts.total == len(expected) and counts.exact
        assert sum(n for _, n in counts.by_day) == counts.total
        assert sum(counts.by_language.values()) == counts.total


@pytest.mark.parametrize(
    ("budget", "whole_share"),
    [(None, 0.4), (60.0, 0.0), (0.0, 0.0)],
    ids=["all-at-once", "all-in-windows", "first-window-only"],
)
def test_facets_on_a_budget_count_newest_first_and_say_from_when(
    archive: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    budget: float | None,
    whole_share: float,
) -> None:
    """PostgreSQL counts in the pages' time windows when counting at once takes too long
    (forced here: no time for it); out of time, it says from which day on it counted."""
    when = _force_pg_windows(archive, monkeypatch, "SQLite always counts every match")
    monkeypatch.setattr(facets_module, "WHOLE_SHARE", whole_share)
    docs = _documents(archive)
    partial = 0
    for query in ("МВД", '"трудовых мигрантов"', "мигрантов OR migrants", "police NEAR/3 office"):
        with archive() as session:
            counts = facets(session, SearchRequest(query=query), budget=budget)
        since = counts.since
        expected = {
            i
            for i in _brute(docs, query)
            if since is None or when[i] >= datetime(since.year, since.month, since.day, tzinfo=UTC)
        }
        assert counts.total == len(expected), query
        assert sum(n for _, n in counts.by_day) == counts.total
        assert all(day >= since for day, _ in counts.by_day) if since else True
        assert (since is None) == (budget != 0.0), query
        partial += since is not None and len(expected) < len(_brute(docs, query))
    assert partial or budget != 0.0  # the partial counts really left stories out


def test_facet_counting_stops_at_its_time_limit_and_the_session_goes_on(
    archive: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window that takes too long is cancelled by PostgreSQL, not waited for."""
    with archive() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("statement timeouts are PostgreSQL's")
    slow = text("SELECT 0 AS k, 1 AS sid, 0 AS v, NULL AS s, 'ru' AS lang FROM pg_sleep(0.3)")
    monkeypatch.setattr(facets_module, "candidate_sql", lambda c, **_: (slow, {}))
    with archive() as session:
        c = compiled.compile_request(session, SearchRequest(query="МВД"))
        started = time.monotonic()
        assert facets_module._grouped(session, c, 0.02) is None
        assert time.monotonic() - started < 0.25
        assert session.execute(text("SHOW statement_timeout")).scalar() == "0"
        assert facets_module._grouped(session, c, 5.0) == [(0, "ru", 0, 1)]
        assert session.execute(text("SHOW statement_timeout")).scalar() == "0"


def _store_one(factory: sessionmaker[Session], title: str, body: str, language: str = "ru") -> None:
    with unit_of_work(factory) as session:
        queries.insert_story_if_new(
            session=session,
            record=story_record(
                1,
                "https://e.example/1",
                title=title,
                body=body,
                language=language,
                published_at=BASE,
                fetched_at=BASE,
            ),
        )
        sync(session)


def test_snippets_mark_matches_and_escape_stored_text(
    session_factory: sessionmaker[Session],
) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    _store_one(
        session_factory, f"МВД {hostile} открыло офис", f"Представительство {hostile} мигрантов"
    )
    with session_factory() as session:
        hit = search(session, SearchRequest(query="мигранты OR мвд"), explain=True).hits[0]
    for html in (str(hit.title_html), str(hit.snippet_html)):
        assert "<script" not in html and "<img" not in html and "&lt;" in html
        assert set(html.replace("<mark>", "").replace("</mark>", "")) & set("<>") == set()
    assert "<mark>МВД</mark>" in str(hit.title_html)
    assert "<mark>мигрантов</mark>" in str(hit.snippet_html)
    assert any("“мигрантов”" in line for line in hit.why)
    assert not any("≈" in line for line in hit.why)


@pytest.mark.parametrize(
    ("query", "word"),
    [("ҳукумат", "ҲУКУМАТИ"), ("хукумат", "Ҳукумати"), ("елки", "Ёлки"), ("migrant", "MIGRANTS")],
)
def test_snippet_of_a_long_story_shows_the_hit_deep_in_it(
    session_factory: sessionmaker[Session], query: str, word: str
) -> None:
    """Only a window of a long text is analysed: it must be the one holding the hit,
    whatever the case and the Tajik or Russian letters the query folded away."""
    filler = " ".join(f"слово{n} word{n}" for n in range(300))
    _store_one(session_factory, "Навигариҳо", f"{filler} Дар ин ҷо {word} нав. {filler}", "tg")
    with session_factory() as session:
        hit = search(session, SearchRequest(query=query)).hits[0]
    snippet = str(hit.snippet_html)
    assert f"<mark>{word}</mark>" in snippet
    assert snippet.startswith("… ") and snippet.endswith(" …")


def test_index_follows_inserts_updates_deletes(archive: sessionmaker[Session]) -> None:
    def found(query: str) -> set[int]:
        with unit_of_work(archive) as session:
            sync(session)
        return set(_all_pages(archive, SearchRequest(query=query, collapse=False, limit=50)))

    with archive() as session:
        story = session.query(Story).order_by(Story.id).first()
        assert story is not None
        story_id = story.id
    assert story_id not in found("зебра")
    with unit_of_work(archive) as session:
        row = session.get(Story, story_id)
        assert row is not None
        queries.record_new_version(
            session=session,
            story=row,
            record=revision_of(
                row, title="Зебра сбежала из зоопарка", body="Полиция ищет зебру.", fetched_at=BASE
            ),
            when=BASE,
        )
    with archive() as session:
        assert pending_count(session) == 1
    assert found("зебра") == {story_id}
    old_title_word = "Tajikistan"
    assert story_id not in found(old_title_word)
    with unit_of_work(archive) as session:
        queries.delete_story(session=session, story_id=story_id)
    assert found("зебра") == set()
    # deleting a source clears its stories' source: the index follows
    with archive() as session:
        before = found('source:"Asia Plus"')
    with unit_of_work(archive) as session:
        session.query(Source).filter(Source.name == "Asia Plus").delete()
    assert before and found('source:"Asia Plus"') == set()
    with archive() as session:
        assert session.execute(text("SELECT count(*) FROM search_queue")).scalar() == 0
        docs = session.execute(text("SELECT count(*) FROM search_docs")).scalar()
        assert docs == session.query(Story).count()


def test_changed_analyser_or_lost_triggers_rebuild_the_index(
    archive: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with unit_of_work(archive) as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        for name in schema.PG_TRIGGERS if postgres else schema.SQLITE_TRIGGERS:
            session.execute(text(f"DROP TRIGGER {name}" + (" ON stories" if postgres else "")))
    with unit_of_work(archive) as session:
        queries.insert_story_if_new(
            session=session,
            record=story_record(
                "z" * 64,
                "https://z.example/",
                title="Жираф",
                language="ru",
                published_at=BASE,
                fetched_at=BASE,
                extraction_method=None,
            ),
        )
    with unit_of_work(archive) as session:
        result = sync(session)
    assert result.rebuilt
    assert len(_all_pages(archive, SearchRequest(query="жираф"))) == 1
    monkeypatch.setitem(indexer.ANALYZER_VERSIONS, "sqlite", "test-next")
    monkeypatch.setitem(indexer.ANALYZER_VERSIONS, "postgresql", "test-next")
    with unit_of_work(archive) as session:
        assert sync(session).rebuilt
    with unit_of_work(archive) as session:
        assert not sync(session).rebuilt


def test_hostile_input_is_data(archive: sessionmaker[Session]) -> None:
    """ADVERSARIAL 46: SQL metacharacters are words, limits are enforced, cursors are checked."""
    docs = _documents(archive)
    for query in ("'; DROP TABLE stories; --", '"%" OR _', "Robert'); --", "\\", "x' OR '1'='1"):
        try:
            expected = _brute(docs, query)
        except QueryError:
            with archive() as session, pytest.raises(QueryError):
                search(session, SearchRequest(query=query))
            continue
        assert set(_all_pages(archive, SearchRequest(query=query, collapse=False))) == expected
    with archive() as session:
        assert session.query(Story).count() > 100
        for bad in ("!!!", "eyJrIjoiMSJ9", "eyJrIjotMX0", "x" * 300, "eyJrIjoxLCJzIjoiYSJ9"):
            with pytest.raises(SearchRequestError):
                search(session, SearchRequest(cursor=bad))
        for limit in (0, 101, 10**9):
            with pytest.raises(SearchRequestError):
                search(session, SearchRequest(limit=limit))
        with pytest.raises(QueryError):
            search(session, SearchRequest(query="(" * 70 + "a" + ")" * 70))


def test_russian_stemming_and_mixed_scripts(archive: sessionmaker[Session]) -> None:
    with archive() as session:
        forms = [
            {
                h.story.id
                for h in search(session, SearchRequest(query=q, collapse=False, limit=100)).hits
            }
            for q in ("мигрант", "мигранты", "мигрантов", "мигрантами")
        ]
    assert forms[0] and all(f == forms[0] for f in forms)
    with archive() as session:
        latin_m = search(session, SearchRequest(query="МВД", collapse=False, limit=100)).hits
    assert any(h.story.title.startswith("MВД") for h in latin_m)


def test_story_text_changes_outside_the_app_are_indexed(archive: sessionmaker[Session]) -> None:
    """Triggers catch any writer, a raw UPDATE included."""
    with unit_of_work(archive) as session:
        session.execute(text("UPDATE stories SET title = 'Кенгуру прибыл' WHERE id = 2"))
    with unit_of_work(archive) as session:
        sync(session)
    assert _all_pages(archive, SearchRequest(query="кенгуру")) == [2]


def test_rebuild_reindexes_everything(archive: sessionmaker[Session]) -> None:
    with archive.begin() as session:
        count = indexer.rebuild(session.connection())
    with archive() as session:
        assert count == session.query(Story).count()
    assert len(_all_pages(archive, SearchRequest(query="МВД", collapse=False, limit=100))) > 3


def test_an_entry_that_cannot_be_replaced_rebuilds_the_index(
    archive: sessionmaker[Session],
) -> None:
    """SQLite removes an FTS5 entry only given its old text: without it, start over."""
    with unit_of_work(archive) as session:
        if session.get_bind().dialect.name != "sqlite":
            pytest.skip("PostgreSQL replaces rows in place")
        session.execute(text("INSERT INTO search_queue (story_id, seq, has_old) VALUES (3, 1, 0)"))
        session.execute(text("UPDATE stories SET title = 'Кенгуру' WHERE id = 3"))
    with unit_of_work(archive) as session:
        assert sync(session).rebuilt
    assert _all_pages(archive, SearchRequest(query="кенгуру")) == [3]
