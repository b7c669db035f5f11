"""The event layer's in-process caches answer what the database would."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.events.codec import from_json
from crawler.events.grouping import MAX_MEMBERS
from crawler.events.index import EventIndex
from db import event_caches, events
from db.models import Event, TermFrequency
from tests.event_reports import KENYA, OFFICE, store_reports


def _stored_counts(session: Session, terms: list[str]) -> dict[str, int]:
    rows = session.execute(
        select(TermFrequency.key, TermFrequency.df).where(TermFrequency.key.in_(terms))
    )
    return {key: df for key, df in rows}


def test_term_counts_follow_the_database(session_factory: sessionmaker[Session]) -> None:
    terms = ["r:москв", "c:office", "n:rhmzd"]
    with session_factory.begin() as session:
        events.count_terms(session=session, terms=terms[:2])
        assert events.term_counts(session=session, terms=terms) == (
            {"r:москв": 1, "c:office": 1},
            1,
        )
        events.count_terms(session=session, terms=terms)  # known ones counted up in memory
        assert events.term_counts(session=session, terms=terms) == (
            {"r:москв": 2, "c:office": 2, "n:rhmzd": 1},
            2,
        )
    with session_factory() as session:
        assert _stored_counts(session, terms) == {"r:москв": 2, "c:office": 2, "n:rhmzd": 1}


def test_counts_of_a_rolled_back_transaction_are_forgotten(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        events.count_terms(session=session, terms=["c:office"])
        events.term_counts(session=session, terms=["c:office"])
    session = session_factory()
    with session.begin():
        events.count_terms(session=session, terms=["c:office"])
        assert events.term_counts(session=session, terms=["c:office"]) == ({"c:office": 2}, 2)
        session.rollback()
    with session_factory() as session:
        assert events.term_counts(session=session, terms=["c:office"]) == ({"c:office": 1}, 1)


def test_cached_members_are_the_stored_ones(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        store_reports(session, [*OFFICE, KENYA])
    with session_factory() as session:
        event_ids = [e for (e,) in session.execute(select(Event.id))]
        cached = EventIndex()._member_signatures(session, event_ids)
        stored = {
            event_id: [from_json(data) for data in found]
            for event_id, found in events.member_signatures(
                session=session, event_ids=event_ids, per_event=MAX_MEMBERS
            ).items()
        }
        assert cached == stored and len(cached) >= 2
        # Read back from the database, the same again.
        event_caches.signature_cache(session).items.clear()
        assert EventIndex()._member_signatures(session, event_ids) == stored


def test_caches_are_per_database(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    from db.migrate import upgrade
    from db.session import make_engine, make_sessionmaker

    url = f"sqlite:///{tmp_path}/other.db"
    upgrade(url)
    other = make_sessionmaker(make_engine(url))
    with session_factory.begin() as session:
        events.count_terms(session=session, terms=["c:office"])
        events.term_counts(session=session, terms=["c:office"])
    with other() as session:
        assert events.term_counts(session=session, terms=["c:office"]) == ({}, 0)
