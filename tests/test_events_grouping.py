"""Same-event grouping: signatures across scripts, the learned pair model, and a quality
floor on the test part of our labelled events (never used for tuning)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench.events.data import EVENTS_DIR, load_reports
from bench.events.quality import grouping_scores
from core.lexicon import default_lexicon
from core.query import Document, analyze_document
from crawler.events.grouping import group
from crawler.events.pairs import FEATURES, default_model
from crawler.events.signature import name_key, signature_of

T0 = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "МВД Таджикистана открыло представительство в Москве",
        "ВКД намояндагии худро дар Маскав кушод",
        "Tajikistan's interior ministry opened an office in Moscow",
    ],
)
def test_one_act_has_the_same_concepts_in_three_languages(text: str) -> None:
    concepts = default_lexicon().concepts_of(analyze_document(Document(title=text)))
    assert {"police", "office", "open", "moscow"} <= concepts


def test_places_are_told_apart() -> None:
    lexicon = default_lexicon()
    kenya = lexicon.concepts_of(analyze_document(Document(title="Германия и Кения подписали")))
    uzbek = lexicon.concepts_of(analyze_document(Document(title="Germany and Uzbekistan sign")))
    assert "germany" in kenya & uzbek and "kenya" in kenya and "kenya" not in uzbek


def test_names_meet_across_scripts() -> None:
    assert name_key("Душанбе") == name_key("Dushanbe")
    assert name_key("Рахимзода") == name_key("Rahimzoda")


def test_names_skip_sentence_starts_but_keep_abbreviations() -> None:
    signature = signature_of(title="", text="Police met. The MVD office in Dushanbe opened.")
    assert name_key("Dushanbe") in signature.names and name_key("MVD") in signature.names
    assert name_key("Police") not in signature.names and name_key("The") not in signature.names


def test_the_model_reads_the_features_it_was_trained_on() -> None:
    model = default_model()
    assert len(model.weights) == len(FEATURES) and 0 < model.threshold < 1


def _report(title: str, text: str, lang: str, hours: float, url: str = "") -> object:
    return signature_of(
        title=title, text=text, lang=lang, published=T0 + timedelta(hours=hours), url=url or None
    )


def test_reports_of_one_act_group_and_a_later_repeat_does_not() -> None:
    first = _report(
        "В Москве открылось представительство МВД Таджикистана",
        "Представительство Министерства внутренних дел Таджикистана начало работу в Москве. "
        "Офис будет помогать трудовым мигрантам, сообщил замминистра Рахимзода.",
        "ru",
        0,
    )
    english = _report(
        "Tajikistan opens police liaison office in Moscow",
        "Tajikistan's Interior Ministry has opened a representation in Moscow to help "
        "migrant workers, deputy minister Rahimzoda said.",
        "en",
        3,
    )
    tajik = _report(
        "Намояндагии ВКД дар Маскав кушода шуд",
        "Намояндагии Вазорати корҳои дохилии Тоҷикистон дар Маскав ба кор шурӯъ кард. "
        "Муовини вазир Раҳимзода гуфт, ки намояндагӣ ба муҳоҷирони меҳнатӣ кӯмак мекунад.",
        "tg",
        5,
    )
    month_later = _report(
        "В Москве открылось представительство МВД Таджикистана",
        "Представительство Министерства внутренних дел Таджикистана начало работу в Москве.",
        "ru",
        24 * 40,
    )
    events = group([first, english, tajik, month_later])  # type: ignore[list-item]
    assert events[0] == events[1] == events[2] != events[3]


@pytest.mark.skipif(not any(EVENTS_DIR.glob("*.jsonl")), reason="labelled events missing")
def test_quality_floor_on_the_test_part() -> None:
    """Floors a little under what bench/events/quality.py measured (docs/dedup.md)."""
    scores = grouping_scores(load_reports("test"), default_model())
    assert scores["all"].precision >= 0.95 and scores["all"].recall >= 0.75
    assert scores["cross-language"].precision >= 0.95 and scores["cross-language"].recall >= 0.7
