"""Why a story matched, in the reader's words: quotes of the story, never query syntax."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from core.query import Document, analyze_document, parse
from core.query.quotes import CLOSE, OPEN, hit_spans, quotes

ROOT = Path(__file__).resolve().parents[1]
BEAT = ROOT / "tests" / "data" / "beat"
SYNTAX = re.compile(r"NEAR/|(?<!\w)=\w|\w\*|@\w|≈|\bAND\b|\bOR\b|~\d")


def _default_topic_query() -> str:
    topics = yaml.safe_load((ROOT / "core" / "data" / "default_topics.yaml").read_text("utf-8"))
    entries = topics if isinstance(topics, list) else topics["topics"]
    return str(next(t["query"] for t in entries if t["slug"] == "police-liaison-migration"))


def _marked(line: str) -> list[str]:
    return re.findall(re.escape(OPEN) + "(.*?)" + re.escape(CLOSE), line)


def test_hits_map_back_to_the_words_of_the_story() -> None:
    doc = analyze_document(
        Document(
            title="ВКД дар Маскав",
            text="Вчера шёл дождь. Министерство внутренних дел Таджикистана откроет в Москве "
            "представительство, сообщили в ведомстве. Другие новости дня.",
        )
    )
    result = parse("(@tj-interior-ministry OR полиция) NEAR/10 представительство").match(doc)
    spans = hit_spans(result.hits)["text"]
    assert [doc.text[a:b] for a, b in spans] == [
        "Министерство внутренних дел Таджикистана",
        "представительство",
    ]
    # both sides of the NEAR share one quote, cut at the sentence around them
    expected = (
        "“Министерство внутренних дел Таджикистана” откроет в Москве “представительство”, "
        "сообщили в ведомстве."
    )
    assert result.why == [expected]


def test_english_quote_has_no_query_syntax_and_joins_adjacent_words() -> None:
    text = (
        "Officials said on Monday that the Tajik interior ministry will open a liaison "
        "office in Moscow next spring, the first of its kind in Russia since the deal."
    )
    result = parse('=office AND "interior ministr*" NEAR/12 liaison').match(Document(text=text))
    assert result.labels == ["=office", '"interior ministr*" ≈ interior ministry', "liaison"]
    (line,) = result.why
    assert _marked(line) == ["interior ministry", "liaison office"]
    assert line.endswith("…") and not SYNTAX.search(line)


def test_tajik_headline_and_metadata_in_plain_words() -> None:
    result = parse("title:намояндагӣ AND lang:tg AND source:ozodi").match(
        Document(
            title="ВКД Тоҷикистон дар Маскав намояндагӣ мекушояд",
            text="Матн.",
            lang="tg",
            source="Ozodi",
        )
    )
    assert result.why == [
        "headline: ВКД Тоҷикистон дар Маскав “намояндагӣ” мекушояд",
        "written in Tajik",
        "from Ozodi",
    ]


def test_long_text_is_quoted_with_a_little_context_only() -> None:
    text = "Слово " * 50 + "мигранты получили патент " + "слово " * 50
    (line,) = parse("мигрант AND патент").match(Document(text=text)).why
    assert _marked(line) == ["мигранты", "патент"]
    assert line.startswith("…") and line.endswith("…") and len(line) < 140


def test_quotes_keep_the_story_casing_and_offsets() -> None:
    doc = analyze_document(Document(text="The INTERIOR MINISTRY said so."))
    result = parse('"interior ministry"').match(doc)
    (quote,) = quotes(doc, result.hits)
    assert quote.where == "text" and doc.text[slice(*quote.spans[0])] == "INTERIOR MINISTRY"
    assert quote.text == "The “INTERIOR MINISTRY” said so."


@pytest.mark.parametrize("lang", ["en", "ru", "tg"])
def test_every_match_of_the_default_topic_is_explained_in_the_storys_words(lang: str) -> None:
    query = parse(_default_topic_query())
    rows = [json.loads(line) for line in (BEAT / f"{lang}.jsonl").read_text("utf-8").splitlines()]
    explained = 0
    for row in rows:
        doc = analyze_document(Document(title=row["title"], text=row["text"], lang=lang))
        result = query.match(doc)
        if not result:
            continue
        explained += 1
        assert result.why, row["id"]
        story = " ".join((doc.title + " " + doc.text).split())
        for line in result.why:
            assert not SYNTAX.search(line.replace(row["title"], "").replace(row["text"], "")), (
                row["id"],
                line,
            )
            words = _marked(line)
            assert words, (row["id"], line)
            for word in words:
                assert word in story, (row["id"], word)
    assert explained >= 40
