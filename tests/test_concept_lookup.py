"""Concept names by look-ups: the same names each concept's own test gives.

``Lexicon.concepts_of`` splits the concepts' OR branches into key, form and
prefix tables and tests only what is left (phrases, AND, NEAR, ``title:``,
entities with exceptions); these tests hold it to the percolator's answer.
"""

from __future__ import annotations

import pytest

from bench.matching.topic_quality import beat_files, load_rows
from core.concept_lookup import ConceptLookup, branches
from core.lexicon import default_lexicon
from core.query import Document, Query, TopicIndex, analyze_document, parse
from core.query.ast import Or, Phrase, Term

# One of each kind of branch the look-up files differently.
QUERIES = {
    "stem": "полиция OR police",
    "exact": "=office OR бюро",
    "prefix": "мигрант* OR migra*",
    "phrase": '"пункт связи" OR "liaison officer*"',
    "and": "(договор AND реадмисси*) OR treaty",
    "near": "(МВД NEAR/3 Москва) OR kremlin",
    "title": "title:визит OR summit",
    "not": "NOT погода",
    "entity": "@tj-interior-ministry",
    "entity-with-exceptions": "@police-authority",
}
TEXTS = [
    ("МВД открыло офис в Москве", "Мигранты и полиция: пункт связи откроют к лету."),
    ("Визит министра", "Договор о реадмиссии подписан; погода хорошая."),
    ("Office hours", "The liaison officers met migrants; the offices were closed."),
    ("", "коридор treaty summit"),
    ("МВД Таджикистана", "Полис ОМС оформили в полиси суғурта."),
    ("Полис", "Полис ОМС и страховой полис."),
    ("Summit", ""),
    ("", ""),
]


# The parser wants three letters before "*"; a tree built by hand may have fewer.
SHORT_PREFIX = Or((Term("ко", wildcard=True), Term("zz")))


def _queries() -> dict[str, Query]:
    queries = {name: parse(text) for name, text in QUERIES.items()}
    queries["short-prefix"] = Query("ко* OR zz", SHORT_PREFIX)
    return queries


@pytest.mark.parametrize(("title", "text"), TEXTS)
def test_every_kind_of_branch_gives_the_tested_answer(title: str, text: str) -> None:
    queries = _queries()
    lookup = ConceptLookup({name: query.root for name, query in queries.items()})
    index: TopicIndex[str] = TopicIndex()
    for name, query in queries.items():
        index.add(name, query)
    document = analyze_document(Document(title=title, text=text))
    assert lookup.concepts_of(document) == set(index.matching(document))


def test_branches_flatten_nested_ors() -> None:
    root = parse('alpha OR (beta OR "gamma delta") OR eps*').root
    assert isinstance(root, Or)
    flat = branches(root)
    assert [type(b) for b in flat] == [Term, Term, Phrase, Term]


def test_the_lexicon_finds_the_same_concepts_in_every_labelled_story() -> None:
    lexicon = default_lexicon()
    rows = [row for path in beat_files() for row in load_rows(path)]
    for row in rows:
        for document in (
            analyze_document(Document(title=str(row["title"]), text=str(row["text"]))),
            analyze_document(Document(title=str(row["title"]))),
        ):
            tested = frozenset(name for name, _ in lexicon.match(document))
            assert lexicon.concepts_of(document) == tested, row["title"]
