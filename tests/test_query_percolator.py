"""The topic index returns exactly what trying every topic would."""

from __future__ import annotations

import random

from bench.matching.corpus import build_vocabularies, stories, topic_queries
from core.query import AnalyzedDocument, Document, Query, TopicIndex, analyze_document, parse


def naive(queries: list[Query], adoc: AnalyzedDocument) -> list[int]:
    return [i for i, q in enumerate(queries) if q.match(adoc).matched]


def test_index_agrees_with_the_naive_loop_on_random_data():
    vocabularies = build_vocabularies(seed=3, size=300)
    texts = topic_queries(1500, vocabularies, seed=5)
    rng = random.Random(9)
    # add the shapes the generator does not write: titles, entities, metadata, pure NOT
    extra = ["NOT " + texts[0], "lang:ru", "title:" + texts[1].split()[0], "@moscow OR @russia"]
    texts += extra + [
        f"{a} OR ({b})" for a, b in zip(texts[:200], rng.sample(texts, 200), strict=True)
    ]
    queries = [parse(text) for text in texts]
    index = TopicIndex()
    for i, query in enumerate(queries):
        index.add(i, query)
    total = 0
    for doc in stories(300, vocabularies, seed=21):
        adoc = analyze_document(doc)
        expected = naive(queries, adoc)
        got = index.match(adoc)
        assert [topic for topic, _ in got] == expected
        assert all(result.matched and result.hits for _, result in got)
        total += len(expected)
    assert total > 300  # the data exercises real matches, not only misses


def test_only_topics_with_a_key_term_in_the_story_are_candidates():
    index = TopicIndex()
    index.add("a", parse("мигрант патент"))
    index.add("b", parse("футбол"))
    index.add("c", parse("NOT футбол"))
    adoc = analyze_document(Document(text="мигрант купил патент"))
    assert index.candidates(adoc) == ["a", "c"]
    assert [t for t, _ in index.match(adoc)] == ["a", "c"]


def test_adding_an_id_again_replaces_and_remove_forgets():
    index = TopicIndex()
    index.add(1, parse("мигрант"))
    index.add(1, parse("футбол"))
    assert len(index) == 1
    adoc = analyze_document(Document(text="футбол и мигрант"))
    assert [t for t, _ in index.match(adoc)] == [1]
    index.remove(1)
    assert 1 not in index and index.match(adoc) == []


def test_frequencies_choose_the_rarest_required_term():
    long_word = next(iter(parse("представительство").matcher.clauses()))
    short_word = next(iter(parse("офис").matcher.clauses()))
    plain = TopicIndex()
    plain.add("t", parse("представительство офис"))
    assert plain.keys_of("t") == long_word  # without counts, the longer stem
    counted = TopicIndex(frequencies={k: 10_000 for k in long_word})
    counted.add("t", parse("представительство офис"))
    assert counted.keys_of("t") == short_word
    assert counted.match(analyze_document(Document(text="офис представительства")))


def test_pure_not_and_metadata_topics_are_checked_for_every_story():
    index = TopicIndex()
    index.add("not", parse("-футбол"))
    index.add("lang", parse("lang:ru"))
    assert index.keys_of("not") is None and index.keys_of("lang") is None
    adoc = analyze_document(Document(text="что-то другое", lang="ru"))
    assert [t for t, _ in index.match(adoc)] == ["not", "lang"]
