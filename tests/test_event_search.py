"""Archive search with one entry per event, on both engines: led by the event's headline
report when it matches, one entry however the pages are cut, stories without an event
standing with their cluster (or alone)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy.orm import Session, sessionmaker

from db import queries
from db.models import Cluster, Event, Story
from db.search import SearchHit, SearchRequest, scan, search, sync
from db.session import unit_of_work
from tests.event_reports import KENYA, OFFICE, store_reports
from tests.factories import story_record


@pytest.fixture
def archive(session_factory: sessionmaker[Session]) -> dict[str, int]:
    """The office opening in four outlets (ru, en, tg, ru), another event, and two stories
    stored before events: copies in one cluster."""
    with unit_of_work(session_factory) as session:
        ids = store_reports(session, [*OFFICE, KENYA])
        cluster = Cluster(size=2, languages={"ru": 2})
        session.add(cluster)
        session.flush()
        for n in range(2):
            old = queries.insert_story_if_new(
                session=session,
                record=story_record(
                    f"old{n}",
                    f"https://old.example/{n}",
                    title=f"Старое сообщение о мигрантах {n}",
                    body="Трудовые мигранты из Таджикистана.",
                    language="ru",
                ),
            )
            assert old is not None
            session.get_one(Story, old).cluster_id = cluster.id
            ids[f"old{n}"] = old
        sync(session)
    return ids


def _lead(factory: sessionmaker[Session], story_id: int) -> int:
    with factory() as session:
        event = session.get_one(Event, session.get_one(Story, story_id).event_id)
        assert event.lead_story_id is not None
        return event.lead_story_id


def _pages(factory: sessionmaker[Session], request: SearchRequest) -> list[SearchHit]:
    hits: list[SearchHit] = []
    cursor = None
    for _ in range(100):
        with factory() as session:
            page = search(session, replace(request, cursor=cursor))
        hits += page.hits
        cursor = page.next_cursor
        if cursor is None:
            return hits
    raise AssertionError("pagination did not end")


def test_one_entry_per_event_led_by_its_headline_report(
    session_factory: sessionmaker[Session], archive: dict[str, int]
) -> None:
    lead = _lead(session_factory, archive["office-ru"])
    office = {archive[r.key] for r in OFFICE}
    hits = _pages(session_factory, SearchRequest(limit=20))
    shown = [h.story.id for h in hits]
    assert len(shown) == len(set(shown)) == 3  # the office, Kenya, the old cluster
    assert lead in shown and not (office - {lead}) & set(shown)
    entry = next(h for h in hits if h.story.id == lead)
    assert entry.event is not None and entry.event.lead_id == lead
    assert entry.event.reports == 4 and entry.event.outlets == 3
    others = [r.language for r in OFFICE if archive[r.key] != lead]
    assert sorted(entry.event.languages) == sorted(set(others))
    assert entry.event.languages[0] == max(set(others), key=others.count)

    every = _pages(session_factory, SearchRequest(limit=20, collapse=False))
    assert {h.story.id for h in every} == set(archive.values())
    assert all(h.event is not None and h.event.reports == 4 for h in every if h.story.id in office)
    old = [h for h in every if h.story.id in (archive["old0"], archive["old1"])]
    assert all(h.event is None and h.cluster_size == 2 for h in old)


def test_an_entry_shows_a_matching_report_when_the_headline_does_not_match(
    session_factory: sessionmaker[Session], archive: dict[str, int]
) -> None:
    lead = _lead(session_factory, archive["office-ru"])
    assert lead != archive["office-en"]
    # as written: across languages "liaison" is the office concept, which the headline has
    (hit,) = _pages(session_factory, SearchRequest(query="liaison", across=False))
    assert hit.story.id == archive["office-en"]
    assert hit.event is not None and hit.event.lead_id == lead and hit.event.outlets == 3
    assert "<mark>" in str(hit.title_html)
    (across,) = _pages(session_factory, SearchRequest(query="liaison"))
    assert across.story.id == lead
    # a filter the headline report fails: the entry is a report that passes it
    tajik = _pages(session_factory, SearchRequest(language="tg"))
    assert [h.story.id for h in tajik] == [archive["office-tg"]]
    russian = {h.story.id for h in _pages(session_factory, SearchRequest(language="ru"))}
    office_ru = {archive["office-ru"], archive["office-ru2"]}
    assert len(russian & office_ru) == 1
    if lead in office_ru:
        assert lead in russian


@pytest.mark.parametrize("sort", ["newest", "relevance"])
def test_each_event_is_one_entry_however_pages_are_cut(
    session_factory: sessionmaker[Session], archive: dict[str, int], sort: str
) -> None:
    request = SearchRequest(query="Рахимзода OR мигрантов OR migrant", sort=sort)  # type: ignore[arg-type]
    whole = _pages(session_factory, replace(request, limit=50))
    paged = _pages(session_factory, replace(request, limit=1))
    assert [h.story.id for h in paged] == [h.story.id for h in whole]
    events = [h.event.id for h in whole if h.event is not None]
    assert len(events) == len(set(events))
    office = {archive[r.key] for r in OFFICE}
    assert len([h for h in whole if h.story.id in office]) == 1


def test_stories_without_an_event_stand_with_their_cluster(
    session_factory: sessionmaker[Session], archive: dict[str, int]
) -> None:
    hits = _pages(session_factory, SearchRequest(query="старое"))
    assert [h.story.id for h in hits] == [archive["old1"]]  # the newest copy, as before events
    assert hits[0].event is None and hits[0].cluster_size == 2


def test_exports_list_one_row_per_event_led_by_the_headline(
    session_factory: sessionmaker[Session], archive: dict[str, int]
) -> None:
    lead = _lead(session_factory, archive["office-ru"])
    with session_factory() as session:
        ids, cursor = scan(session, SearchRequest(), batch=500)
        every, _ = scan(session, SearchRequest(collapse=False), batch=500)
    assert cursor is None
    assert lead in ids and len(ids) == len(set(ids)) == 3
    assert set(every) == set(archive.values())
