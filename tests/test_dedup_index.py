"""The near-duplicate index on real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.errors import NotFoundError
from crawler.dedup import LshParams, NearDuplicateIndex, content_fingerprint, signature_for
from db.models import Cluster, LshBand, Story
from db.session import make_engine, make_sessionmaker
from tests.test_dedup import (
    AGENCY_BODY,
    AGENCY_TITLE,
    ENGLISH_BODY,
    ENGLISH_TITLE,
    OTHER_BODY,
    OTHER_TITLE,
    REPRINT_BODY,
    REPRINT_TITLE,
)

NOON = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
_urls = count(1)


def add_story(
    session: Session,
    title: str,
    body: str,
    *,
    language: str | None = "ru",
    published_at: datetime | None = NOON,
) -> Story:
    n = next(_urls)
    story = Story(
        url_key=f"{n:064x}",
        canonical_url=f"https://outlet{n}.example/news/{n}",
        url=f"https://outlet{n}.example/news/{n}",
        title=title,
        body=body,
        language=language,
        published_at=published_at,
        fetched_at=NOON + timedelta(hours=1),
        fingerprint=content_fingerprint(title, body),
    )
    session.add(story)
    session.flush()
    return story


def store(
    session: Session,
    title: str,
    body: str,
    *,
    language: str | None = "ru",
    published_at: datetime | None = NOON,
) -> tuple[int, int]:
    """What the store pipeline does: insert, then assign inside the same transaction."""
    story = add_story(session, title, body, language=language, published_at=published_at)
    cluster_id = NearDuplicateIndex(session).assign(
        story.id,
        signature_for(title, body),
        language=language,
        published_at=published_at,
        fetched_at=story.fetched_at,
    )
    return story.id, cluster_id


def cluster_row(factory: sessionmaker[Session], cluster_id: int) -> Cluster | None:
    with factory() as session:
        return session.get(Cluster, cluster_id)


def test_copy_joins_and_other_story_does_not(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        agency, first = store(session, AGENCY_TITLE, AGENCY_BODY)
        _, reprint = store(
            session, REPRINT_TITLE, REPRINT_BODY, published_at=NOON + timedelta(minutes=20)
        )
        _, other = store(session, OTHER_TITLE, OTHER_BODY)
        _, english = store(session, ENGLISH_TITLE, ENGLISH_BODY, language="en")
    assert reprint == first
    assert len({first, other, english}) == 3
    cluster = cluster_row(session_factory, first)
    assert cluster is not None
    assert cluster.size == 2 and cluster.languages == {"ru": 2}
    assert cluster.first_story_id == agency


def test_languages_are_counted_and_earliest_outlet_is_first(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session, session.begin():
        _, cluster_id = store(session, AGENCY_TITLE, AGENCY_BODY, language="ru")
        # A Tajik-language outlet reprints the Russian text (it happens) an hour earlier.
        early, _ = store(
            session,
            REPRINT_TITLE,
            REPRINT_BODY,
            language="tg",
            published_at=NOON - timedelta(hours=1),
        )
        # Publication time unknown: the fetch time (NOON + 1 h) stands in, so it is not first.
        undated, joined = store(
            session, AGENCY_TITLE, AGENCY_BODY + "\n\nФото: ТАСС", language=None, published_at=None
        )
    assert joined == cluster_id
    cluster = cluster_row(session_factory, cluster_id)
    assert cluster is not None
    assert cluster.languages == {"ru": 1, "tg": 1, "und": 1}
    assert cluster.size == 3
    assert cluster.first_story_id == early
    assert cluster.first_seen_at == NOON - timedelta(hours=1)
    assert undated != early


def test_index_survives_a_restart(database_url: str) -> None:
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session, session.begin():
        _, first = store(session, AGENCY_TITLE, AGENCY_BODY)
    engine.dispose()
    engine = make_engine(database_url)  # a new process, nothing in memory
    with make_sessionmaker(engine)() as session, session.begin():
        _, second = store(session, REPRINT_TITLE, REPRINT_BODY)
    engine.dispose()
    assert first == second


def test_remove_moves_first_counts_down_and_deletes_empty_clusters(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session, session.begin():
        first_id, cluster_id = store(session, AGENCY_TITLE, AGENCY_BODY, language="ru")
        second_id, _ = store(
            session,
            REPRINT_TITLE,
            REPRINT_BODY,
            language="tg",
            published_at=NOON + timedelta(hours=2),
        )
    with session_factory() as session, session.begin():
        removal = NearDuplicateIndex(session).remove(first_id)
        session.delete(session.get(Story, first_id))
    assert removal.cluster_id == cluster_id and not removal.cluster_deleted
    assert removal.first_story_id == second_id
    cluster = cluster_row(session_factory, cluster_id)
    assert cluster is not None
    assert (cluster.size, cluster.languages, cluster.first_story_id) == (1, {"tg": 1}, second_id)
    assert cluster.first_seen_at == NOON + timedelta(hours=2)

    with session_factory() as session, session.begin():
        removal = NearDuplicateIndex(session).remove(second_id)
        bands = session.scalar(select(func.count()).select_from(LshBand))
    assert removal.cluster_deleted and bands == 0
    assert cluster_row(session_factory, cluster_id) is None

    # A copy arriving now starts afresh instead of joining a deleted cluster,
    # under a new id: the deleted one was the newest, and is never handed out again.
    with session_factory() as session, session.begin():
        session.delete(session.get(Story, second_id))
        fresh_story, fresh = store(session, AGENCY_TITLE, AGENCY_BODY)
    assert fresh > cluster_id
    cluster = cluster_row(session_factory, fresh)
    assert cluster is not None
    assert (cluster.size, cluster.first_story_id) == (1, fresh_story)


def test_remove_of_unknown_story_is_a_no_op(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        removal = NearDuplicateIndex(session).remove(987654)
    assert removal.cluster_id is None and not removal.cluster_deleted


def test_assign_twice_is_idempotent(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        story = add_story(session, AGENCY_TITLE, AGENCY_BODY)
        index = NearDuplicateIndex(session)
        sig = signature_for(AGENCY_TITLE, AGENCY_BODY)
        first = index.assign_detailed(story.id, sig, published_at=NOON)
        again = index.assign_detailed(story.id, sig, published_at=NOON)
        # The caller's Story object sees the cluster without a reload.
        assert story.cluster_id == first.cluster_id
    assert (first.reason, again.reason) == ("new", "already-assigned")
    assert again.cluster_id == first.cluster_id


def test_assign_of_missing_story_names_it(session_factory: sessionmaker[Session]) -> None:
    with (
        session_factory() as session,
        session.begin(),
        pytest.raises(NotFoundError, match="424242"),
    ):
        NearDuplicateIndex(session).assign(424242, signature_for(AGENCY_TITLE, AGENCY_BODY))


def test_too_short_story_gets_its_own_cluster_and_no_bands(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session, session.begin():
        a = add_story(session, "Срочно", "")
        b = add_story(session, "Срочно", "")
        index = NearDuplicateIndex(session)
        first = index.assign_detailed(a.id, signature_for("Срочно", ""))
        second = index.assign_detailed(b.id, signature_for("Срочно", ""))
        bands = session.scalar(select(func.count()).select_from(LshBand))
    assert first.reason == second.reason == "too-short"
    assert first.cluster_id != second.cluster_id and bands == 0


def test_reindex_replaces_bands_and_keeps_cluster(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        story_id, cluster_id = store(session, AGENCY_TITLE, AGENCY_BODY)
        index = NearDuplicateIndex(session)
        new_sig = signature_for(OTHER_TITLE, OTHER_BODY)
        index.reindex(story_id, new_sig)
        stored = session.execute(
            select(LshBand.band, LshBand.hash)
            .where(LshBand.story_id == story_id)
            .order_by(LshBand.band)
        ).all()
        cluster = session.scalar(select(Story.cluster_id).where(Story.id == story_id))
    assert tuple(h for _, h in stored) == new_sig.bands
    assert cluster == cluster_id


def test_signature_from_other_parameters_is_refused(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        story = add_story(session, AGENCY_TITLE, AGENCY_BODY)
        sig = signature_for(AGENCY_TITLE, AGENCY_BODY, LshParams(bands=8, rows=2))
        with pytest.raises(ValueError, match="recompute"):
            NearDuplicateIndex(session).assign(story.id, sig)


def _store_in_thread(
    factory: sessionmaker[Session], title: str, body: str, result: dict[str, int]
) -> threading.Thread:
    def run() -> None:
        with factory() as session, session.begin():
            result["story"], result["cluster"] = store(session, title, body)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_concurrent_copies_end_in_one_cluster(session_factory: sessionmaker[Session]) -> None:
    """Two processes storing two copies at once: the second waits and joins, never forks."""
    result: dict[str, int] = {}
    with session_factory() as session, session.begin():
        _, first_cluster = store(session, AGENCY_TITLE, AGENCY_BODY)
        thread = _store_in_thread(session_factory, REPRINT_TITLE, REPRINT_BODY, result)
        thread.join(timeout=0.5)
        assert thread.is_alive(), "the second writer did not wait for the first"
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert result["cluster"] == first_cluster
    cluster = cluster_row(session_factory, first_cluster)
    assert cluster is not None and cluster.size == 2


@pytest.mark.postgres
def test_unrelated_stories_do_not_wait_for_each_other(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises all writers by design")
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    result: dict[str, int] = {}
    try:
        with factory() as session, session.begin():
            store(session, AGENCY_TITLE, AGENCY_BODY)
            thread = _store_in_thread(factory, ENGLISH_TITLE, ENGLISH_BODY, result)
            thread.join(timeout=10)
            assert not thread.is_alive(), "an unrelated story waited for the band locks"
        assert "cluster" in result
    finally:
        engine.dispose()


def test_story_bridging_two_clusters_merges_them(session_factory: sessionmaker[Session]) -> None:
    """Two reprints that share nothing arrive first; the full report then joins both."""
    with session_factory() as session, session.begin():
        first_half, a = store(session, AGENCY_TITLE, AGENCY_BODY, published_at=NOON)
        second_half, b = store(session, OTHER_TITLE, OTHER_BODY, language="tg")
        assert a != b
        story = add_story(session, AGENCY_TITLE, AGENCY_BODY + "\n\n" + OTHER_BODY)
        assignment = NearDuplicateIndex(session).assign_detailed(
            story.id,
            signature_for(AGENCY_TITLE, AGENCY_BODY + "\n\n" + OTHER_BODY),
            language="ru",
            published_at=NOON + timedelta(hours=3),
        )
    assert assignment.reason == "copy"
    assert assignment.cluster_id == min(a, b) and assignment.merged == (max(a, b),)
    assert cluster_row(session_factory, max(a, b)) is None
    cluster = cluster_row(session_factory, min(a, b))
    assert cluster is not None
    assert (cluster.size, cluster.languages) == (3, {"ru": 2, "tg": 1})
    assert cluster.first_story_id == first_half
    with session_factory() as session:
        members = session.scalars(select(Story.id).where(Story.cluster_id == min(a, b))).all()
    assert sorted(members) == sorted([first_half, second_half, story.id])


def test_id_of_a_cluster_merged_away_is_never_given_to_another(
    session_factory: sessionmaker[Session],
) -> None:
    """``/?cluster=N`` links and CLI output name a cluster by id: a deleted one names nothing.

    The newest cluster is the one a merge absorbs; a plain SQLite row id would
    hand its id to the next cluster made.
    """
    with session_factory() as session, session.begin():
        _, kept = store(session, AGENCY_TITLE, AGENCY_BODY)
        _, absorbed = store(session, OTHER_TITLE, OTHER_BODY)
        bridge = AGENCY_BODY + "\n\n" + OTHER_BODY
        story = add_story(session, AGENCY_TITLE, bridge)
        merge = NearDuplicateIndex(session).assign_detailed(
            story.id, signature_for(AGENCY_TITLE, bridge), language="ru", published_at=NOON
        )
    assert (merge.cluster_id, merge.merged) == (kept, (absorbed,)) and absorbed > kept

    with session_factory() as session, session.begin():
        _, later = store(session, ENGLISH_TITLE, ENGLISH_BODY, language="en")
    assert later > absorbed
    assert cluster_row(session_factory, absorbed) is None
