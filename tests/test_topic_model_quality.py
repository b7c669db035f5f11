"""Quality gate for the default topic's query + relevance model on the held-out beat stories.

The model trains on the topic's seed examples (the development half and the
older set, ``core/data/seeds``); its thresholds were chosen on the
development half (``bench/matching/model_quality.py``). The floors sit a
little under what the held-out half measured (docs/beat.md, "Measured"). The
model only ever adds stories, so query + model never recalls less than the
query alone.
"""

from __future__ import annotations

import pytest

from alerts.relevance import RelevanceModel, StoryFeatures
from bench.matching.topic_quality import DEFAULT_SLUG, Score, beat_files, load_rows, topic_query
from core.query import Document, analyze_document
from core.seeds import seed_examples

FLOORS = {  # language: (precision, recall) of query + model on split == "test"
    # en precision: the set gained 12 English near misses (half held out) written
    # for sub-topics it lacked; two of the six held-out ones are false alarms, so
    # the same query measures 0.930 on this set (0.971 on the first 160 stories,
    # as before). The floor sits one story below, like the others.
    # en recall: 0.882 after the third round (seeds from the larger dev half,
    # threshold 0.94), 0.895 after the fourth; the floor sits one story below it.
    # ru, tg: the held-out half gained 48 Russian and 48 Tajik stories in the
    # fourth round, written in wording the query lacked: query + model measures
    # ru 0.929 / 0.800 (the model adds one wrong story), tg 0.982 / 0.831.
    "en": (0.90, 0.88),
    "ru": (0.91, 0.78),
    "tg": (0.96, 0.81),
}


@pytest.fixture(scope="module")
def scores() -> dict[str, tuple[Score, Score]]:
    model = RelevanceModel.fit(list(seed_examples(DEFAULT_SLUG)))
    assert model is not None
    query = topic_query()
    found: dict[str, tuple[Score, Score]] = {}
    for path in beat_files():
        for row in load_rows(path):
            if row["split"] != "test":
                continue
            adoc = analyze_document(Document(title=str(row["title"]), text=str(row["text"])))
            alone, both = found.setdefault(str(row["lang"]), (Score(), Score()))
            hit = query.matches(adoc)
            alone.add(hit, bool(row["label"]))
            both.add(hit or model.adds(StoryFeatures(adoc)) is not None, bool(row["label"]))
    return found


@pytest.mark.parametrize("lang", sorted(FLOORS))
def test_query_and_model_on_the_held_out_half(scores, lang):
    alone, both = scores[lang]
    precision_floor, recall_floor = FLOORS[lang]
    assert both.precision >= precision_floor, both
    assert both.recall >= recall_floor, both
    assert both.recall >= alone.recall
