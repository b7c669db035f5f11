"""Matching: morphology (ru/en/tg), folding, transliteration, proximity,
wildcards, fields and the "why it matched" labels."""

from __future__ import annotations

import pytest

from core.query import Document, analyze_document, parse, transliterations


def matches(query: str, text: str, title: str = "", **meta: str) -> bool:
    return parse(query).match(analyze_document(Document(title=title, text=text, **meta))).matched


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("мигрант", "Число мигрантов выросло"),
        ("мигрантов", "Мигрант получил патент"),
        ("представительство", "открытие представительства в Москве"),
        ("представительства", "Новое представительство заработало"),
        ("office", "Two new offices opened"),
        ("offices", "The office opened"),
        ("agreement", "The agreements were signed"),
        ("муҳоҷират", "муҳоҷирони меҳнатӣ"),
        ("муҳоҷирон", "дар бораи муҳоҷират"),
        ("намояндагӣ", "намояндагиҳои вазорат"),
        ("корҳои дохилӣ", "Вазорати корҳои дохилии Тоҷикистон"),
    ],
)
def test_inflected_forms_match_on_both_sides(query, text):
    assert matches(query, text)


@pytest.mark.parametrize(
    ("query", "text"),
    [
        # object marker after the plural: the same stem as the plural alone
        ("маҳкумшудагон", "маҳкумшудагонро ба ватан супориданд"),
        # the "and" Tajik joins to a word
        ("Тоҷикистон", "Тоҷикистону Русия созишнома бастанд"),
        ("масуният", "имтиёзу масуният"),
        # verbs: participle, infinitive and perfect come back to the past stem ...
        ("фиристод", "ба ватан фиристода шуданд"),
        ("супорид", "супоридани маҳбусон"),
        ("кушод", "намояндагӣ кушодааст"),
        # ... and the present prefix and personal ending go
        ("мефиристад", "афсаронро мефиристанд"),
        ("мекушояд", "дафтар мекушоянд"),
    ],
)
def test_tajik_suffixes_and_verb_forms_match(query, text):
    assert matches(query, text)


@pytest.mark.parametrize(
    ("query", "text"),
    [
        # "ме-" that is part of the word stays: меҳнат (labour) is not a verb form
        ("ҳнат", "вазорати меҳнат"),
        # a past stem is not the present one
        ("мефиристад", "фиристоданд"),
    ],
)
def test_tajik_verb_rules_leave_other_words_alone(query, text):
    assert not matches(query, text)


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("представительство", "представитель МВД заявил"),
        ("мигрант", "миграция растёт"),
        ("office", "the officer said"),
    ],
)
def test_different_words_stay_apart(query, text):
    if query == "office":
        assert not matches("=office", text)
    else:
        assert not matches(query, text)


def test_exact_form_matches_only_that_form():
    assert matches("=office", "a new office")
    assert not matches("=office", "new offices")
    assert matches("office", "new offices")


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("ёлка", "ЕЛКА на площади"),
        ("елка", "Ёлки зажглись"),
        ("Вазорати меҳнат", "вазорати мехнат"),
        ("ҳамкорӣ", "хамкори"),
        ("қонун", "конуни нав"),
        ("МВД", "MВД сообщило"),
        ("мигра\u0301нт", "мигрант"),
        ("migrant", "mi\u00adgrant workers"),
    ],
)
def test_case_yo_tajik_letters_stress_and_mixed_layout_are_folded(query, text):
    assert matches(query, text)


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("Душанбе", "Flights to Dushanbe resumed"),
        ("Dushanbe", "Рейсы в Душанбе"),
        ("Rahmon", "Эмомали Рахмон заявил"),
        ("Rakhmon", "встреча с Рахмоном"),
        ("Рахмон", "President Rahmon said"),
        ("Лавров", "Lavrov arrived"),
        ("Lavrov", "заявление Лаврова"),
        ("MVD", "МВД России"),
        ("Tajikistan", "граждане Таджикистана"),
        ("Вазорати меҳнат", "Vazorati mehnat va hifzi ijtimoi"),
    ],
)
def test_names_match_their_transliteration(query, text):
    assert matches(query, text)


def test_short_words_are_not_transliterated():
    assert not matches("не", "ne")
    assert not matches("pro", "про это")


def test_transliteration_variants_cover_common_spellings():
    assert set(transliterations("Рахмон")) >= {"rakhmon", "rahmon"}
    assert set(transliterations("Джураев")) >= {"dzhuraev"}
    assert "душанбе" in transliterations("Dushanbe")
    assert transliterations("2024") == []


def test_phrase_needs_adjacent_words_in_order():
    assert matches('"трудовых мигрантов"', "Права трудовых мигрантов")
    assert not matches('"трудовых мигрантов"', "мигрантов трудовых")
    assert not matches('"трудовых мигрантов"', "трудовых прав мигрантов")


def test_phrase_slop_allows_extra_words_in_order():
    assert matches('"трудовых мигрантов"~1', "трудовых прав мигрантов")
    assert not matches('"трудовых мигрантов"~1', "трудовых и прав мигрантов")
    assert not matches('"трудовых мигрантов"~3', "мигрантов трудовых")


def test_near_counts_words_between_in_either_order():
    assert matches("МВД NEAR/3 офис", "офис в Москве откроет МВД")
    assert matches("МВД NEAR/3 офис", "МВД откроет в Москве офис")
    assert not matches("МВД NEAR/2 офис", "МВД откроет в Москве офис")
    assert matches("МВД NEAR/1 офис", "офис МВД")


def test_near_does_not_join_title_and_text():
    assert not matches("МВД NEAR/5 офис", title="Новости МВД", text="офис открыт")


def test_near_with_phrase_and_or_group():
    query = '(@tj-interior-ministry OR полиция) NEAR/4 "офис связи"'
    assert matches(query, "ВКД Тоҷикистон ... в Москве откроет офис связи")
    assert not matches(query, "полиция сообщила. " + "слово " * 10 + "офис связи")


def test_wildcard_matches_word_prefixes():
    assert matches("мигрант*", "мигрантка из Худжанда")
    assert matches("мигрант*", "МИГРАНТАМИ")
    assert not matches("мигрант*", "эмигрант")


def test_title_field_only_looks_at_the_title():
    assert matches("title:мигрант", title="Мигранты", text="")
    assert not matches("title:мигрант", title="Новости", text="мигранты")
    assert matches('title:"МВД России"', title="МВД России сообщило", text="")
    assert not matches("title:мигрант*", title="Новости", text="мигранты")


def test_metadata_fields():
    assert matches("lang:ru x", "x", lang="ru-RU")
    assert matches("lang:tg x", "x", lang="tj")
    assert not matches("lang:en x", "x", lang="ru")
    assert matches("source:plus", "x", source="Asia-Plus")
    assert matches('source:"asia plus"', "x", source="Asia Plus")
    assert not matches("source:asia", "x", source="Asian News")
    assert matches("source:asia*", "x", source="Asian News")
    assert matches("domain:asiaplustj.info", "x", url="https://www.asiaplustj.info/news/1")
    assert matches("domain:tj", "x", url="https://khovar.tj/2024")
    assert not matches("domain:tj", "x", url="https://notj.com/")
    assert not matches("domain:tj", "x")


def test_language_is_detected_when_the_source_does_not_say():
    assert matches("lang:tg", "Вазорати корҳои дохилӣ дар Душанбе хабар дод")
    assert matches("lang:ru", "Министерство сообщило, что в Москве и области")
    assert matches("lang:en", "The ministry said on Monday")


def test_not_excludes():
    assert matches("мигрант -статистика", "мигранты")
    assert not matches("мигрант -статистика", "мигранты и статистика")
    assert matches("NOT футбол", "мигранты")


def test_why_labels_show_query_term_and_document_words():
    query = parse("@tj-interior-ministry NEAR/10 (представительство OR office)")
    doc = Document(title="ВКД откроет представительства в Москве", text="")
    result = query.match(analyze_document(doc))
    assert result.matched
    assert result.labels == ["МВД Таджикистана ≈ ВКД", "представительство ≈ представительства"]
    assert [hit.where for hit in result.hits] == ["title", "title"]


def test_why_label_for_identical_words_and_metadata():
    result = parse("мигрант lang:ru").match(Document(text="мигрант", lang="ru"))
    assert result.labels == ["мигрант", "lang:ru"]
    assert [hit.where for hit in result.hits] == ["text", "lang"]


def test_why_keeps_the_documents_surface_form_for_phrases():
    result = parse('"Вазорати меҳнат"').match(Document(text="ВАЗОРАТИ МЕҲНАТИ гуфт"))
    assert result.labels == ['"Вазорати меҳнат" ≈ ВАЗОРАТИ МЕҲНАТИ']
    same = parse('"Вазорати меҳнат"').match(Document(text="ВАЗОРАТИ МЕҲНАТ гуфт"))
    assert same.labels == ['"Вазорати меҳнат"']


def test_unmatched_result_has_no_hits_and_is_falsy():
    result = parse("a b").match(Document(text="a"))
    assert not result
    assert result.hits == [] and result.why == [] and result.labels == []


def test_or_reports_every_branch_that_fired():
    result = parse("мигрант OR патент OR футбол").match(Document(text="мигрант купил патент"))
    assert result.labels == ["мигрант", "патент"]


def test_failed_and_branch_leaves_no_hits():
    result = parse("(мигрант футбол) OR патент").match(Document(text="мигрант купил патент"))
    assert result.labels == ["патент"]
