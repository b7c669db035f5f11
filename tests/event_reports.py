"""Reports of one happening in three languages, stored and placed into events (no tests here).

``store_reports`` stores stories and places each one through the real placement
(``crawler.events.index.EventIndex``), as the crawler's store pipeline does, so
tests of pages, the API and corrections see events the way production makes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from crawler.events.index import EventIndex, Placement
from db import queries
from db.models import Story
from tests.factories import story_record

T0 = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Report:
    key: str  # names the story in tests (and its url_key)
    source: str
    language: str
    title: str
    body: str
    hours: float  # after T0


# The Tajik interior ministry's office opening in Moscow, told by four outlets.
OFFICE = [
    Report(
        "office-ru",
        "asia-plus",
        "ru",
        "В Москве открылось представительство МВД Таджикистана",
        "Представительство Министерства внутренних дел Таджикистана начало работу в Москве. "
        "Офис будет помогать трудовым мигрантам, сообщил замминистра Рахимзода.",
        0,
    ),
    Report(
        "office-en",
        "asia-wire",
        "en",
        "Tajikistan opens police liaison office in Moscow",
        "Tajikistan's Interior Ministry has opened a representation in Moscow to help "
        "migrant workers, deputy minister Rahimzoda said.",
        3,
    ),
    Report(
        "office-tg",
        "ozodi",
        "tg",
        "Намояндагии ВКД дар Маскав кушода шуд",
        "Намояндагии Вазорати корҳои дохилии Тоҷикистон дар Маскав ба кор шурӯъ кард. "
        "Муовини вазир Раҳимзода гуфт, ки намояндагӣ ба муҳоҷирони меҳнатӣ кӯмак мекунад.",
        5,
    ),
    Report(
        "office-ru2",
        "vestnik",
        "ru",
        "Представительство МВД Таджикистана заработало в Москве",
        "В Москве заработало представительство МВД Таджикистана, которое будет помогать "
        "мигрантам, сказал Рахимзода.",
        8,
    ),
]
# Another happening in the same days.
KENYA = Report(
    "kenya-ru",
    "tass",
    "ru",
    "Германия и Кения подписали соглашение о трудовой миграции",
    "Германия и Кения подписали соглашение о трудовой миграции квалифицированных работников.",
    6,
)
# A later report of the office opening, stored after an operator's correction.
OFFICE_LATE = Report(
    "office-late",
    "khovar",
    "ru",
    "МВД Таджикистана открыло представительство в Москве",
    "Министерство внутренних дел Таджикистана открыло в Москве представительство для помощи "
    "трудовым мигрантам, сообщил заместитель министра Рахимзода.",
    10,
)


def store_reports(session: Session, reports: Sequence[Report]) -> dict[str, int]:
    """Store each report and place it into an event; their story ids by key."""
    ids = {}
    for report in reports:
        ids[report.key] = store_one(session, report)[0]
    return ids


def store_one(session: Session, report: Report) -> tuple[int, Placement]:
    source, _ = queries.upsert_source(
        session=session, name=report.source, url=f"https://{report.source}.example/rss"
    )
    story_id = queries.insert_story_if_new(
        session=session,
        record=story_record(
            report.key,
            f"https://{report.source}.example/{report.key}",
            source_id=source.id,
            title=report.title,
            body=report.body,
            language=report.language,
            published_at=T0 + timedelta(hours=report.hours),
        ),
    )
    assert story_id is not None
    return story_id, place(session, story_id)


def place(session: Session, story_id: int) -> Placement:
    """Place a stored story as the store pipeline does (again, for a story placed before)."""
    story = session.get_one(Story, story_id)
    index = EventIndex()
    return index.place(session, story, index.signature(story))
