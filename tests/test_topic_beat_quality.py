"""Quality gate for the default topic on the held-out half of the beat set.

``tests/data/beat/{en,ru,tg}.jsonl`` were labelled from docs/beat.md before
the topic was tuned (and the stories added later, before the query changes
that followed them); the query was tuned on ``split == "dev"`` only. The
floors sit one story below what the test half measured (see "Measured" in
docs/beat.md), so any regression fails. Do not tune the query against the
test half: a gain there that dev does not show is not a gain.
"""

from __future__ import annotations

import pytest

from bench.matching.topic_quality import Score, beat_files, judge, load_rows, tally, topic_query

FLOORS = {  # language: (precision, recall) on split == "test"
    # en precision: the set gained 12 English near misses (half held out) written
    # for sub-topics it lacked; two of the six held-out ones are false alarms, so
    # the same query measures 0.930 on this set (0.971 on the first 160 stories,
    # as before). The floor sits one story below, like the others.
    "en": (0.90, 0.84),
    "ru": (0.88, 0.95),
    "tg": (0.95, 0.97),
}


def _rows(split: str) -> list[dict[str, object]]:
    return [row for path in beat_files() for row in load_rows(path) if row["split"] == split]


@pytest.fixture(scope="module")
def test_scores() -> dict[str, Score]:
    return tally(judge(topic_query(), _rows("test")), lambda row: str(row["lang"]))


def test_beat_set_has_both_halves_in_every_language():
    assert {path.stem for path in beat_files()} == set(FLOORS)
    for split in ("dev", "test"):
        rows = _rows(split)
        assert len({row["id"] for row in rows}) == len(rows)
        for lang in FLOORS:
            mine = [row for row in rows if row["lang"] == lang]
            positives = sum(1 for row in mine if row["label"])
            assert len(mine) >= 60
            assert positives == len(mine) - positives


@pytest.mark.parametrize("lang", sorted(FLOORS))
def test_precision_and_recall_on_the_held_out_half(test_scores, lang):
    precision_floor, recall_floor = FLOORS[lang]
    assert test_scores[lang].precision >= precision_floor, test_scores[lang]
    assert test_scores[lang].recall >= recall_floor, test_scores[lang]
