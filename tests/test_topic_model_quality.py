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
    # Fifth and sixth rounds together (docs/beat.md): the widened query, and the
    # model with the lexicon's concepts and their pairs, adding at 0.69 (dev
    # out-of-fold precision floor 0.95 per language, 638 seeds). Query + model
    # measures en 0.920 / 0.953, ru 0.944 / 0.919, tg 0.972 / 0.946; each floor
    # sits one story below (one more false alarm, one more miss). The query alone
    # measures en 0.938 / 0.894, ru 0.952 / 0.811, tg 0.985 / 0.865, so precision
    # floors under the query's own are what the model's additions cost.
    "en": (0.91, 0.94),
    "ru": (0.93, 0.90),
    "tg": (0.95, 0.93),
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
