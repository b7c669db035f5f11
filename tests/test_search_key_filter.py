"""The search's partial analysis stems every word that can carry one of the query's keys.

A candidate is checked by the topic matcher over a story analysed only as far as
the query needs (``db.search.analysis``). A word it leaves unstemmed that the
full analysis would have given the query's key makes the search miss a story
the matcher finds.
"""

from __future__ import annotations

import pytest

from core.query import Document, analyze_document, parse
from db.search.analysis import KeyFilter, analyze_for

CASES = [
    # The Tajik stemmer takes the present prefix off verbs: "медиҳад" → "диҳ".
    ("диҳад", "Вазорат ба муҳоҷирон кор медиҳад."),
    ("диҳанд", "Онҳо иҷозат намедиҳанд."),
    ("фиристанд", "Полис онҳоро ба ватан мефиристад."),
    ("меҳнат", "Вазорати меҳнат ва муҳоҷират."),
    ("полиция", "Представительство полиции откроют в Душанбе."),
    ("readmission", "The readmission agreement was signed."),
]


@pytest.mark.parametrize(("query", "text"), CASES)
def test_partial_analysis_gives_the_full_analysis_answer(query: str, text: str) -> None:
    parsed = parse(query)
    document = Document(title="", text=text)
    full = parsed.matches(analyze_document(document))
    assert full, "the case must be one the matcher finds"
    assert parsed.matches(analyze_for(document, KeyFilter.of(parsed)))


def test_words_behind_the_present_prefix_are_wanted() -> None:
    keys = KeyFilter.of(parse("диҳад"))  # words reach the filter folded: "ҳ" is "х"
    assert keys.wants("медихад") and keys.wants("намедихад")
    assert not keys.wants("мемонад")
