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
    # en recall 0.868 after the fourth round (0.855 before).
    # ru, tg: the fourth round added 96 Russian and 96 Tajik stories (ids 165 on)
    # written in wording the query did not have; on the whole held-out half the
    # query measures ru 0.945 / 0.800, tg 0.982 / 0.831 (the query before the
    # round: 0.909 / 0.769 and 0.981 / 0.800). The stories that were in the set
    # before keep their own floors (FIRST_FLOORS).
    # Fifth round: 36 more stories per language (18 held out), written before
    # the vocabulary audit; on the whole held-out half the query measures
    # en 0.938 / 0.894, ru 0.952 / 0.811, tg 0.985 / 0.865 (before the audit:
    # 0.932 / 0.800, 0.948 / 0.743, 0.983 / 0.797).
    "en": (0.92, 0.88),
    "ru": (0.93, 0.79),
    "tg": (0.96, 0.85),
}
FIRST = 164  # ru and tg stories with a larger number came in the fourth round
FIRST_FLOORS = {  # the first 164 Russian and Tajik stories, split == "test"
    # ru 0.953 / 1.000, tg 0.976 / 1.000 after the fourth round
    "ru": (0.93, 0.97),
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


@pytest.mark.parametrize("lang", sorted(FIRST_FLOORS))
def test_the_stories_held_out_before_the_fourth_round_do_not_slip(lang):
    rows = [
        row
        for row in _rows("test")
        if row["lang"] == lang and int(str(row["id"]).rsplit("-", 1)[1]) <= FIRST
    ]
    score = tally(judge(topic_query(), rows), lambda row: str(row["lang"]))[lang]
    precision_floor, recall_floor = FIRST_FLOORS[lang]
    assert score.precision >= precision_floor, score
    assert score.recall >= recall_floor, score
