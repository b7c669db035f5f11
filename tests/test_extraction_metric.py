"""The benchmark metric itself: if it drifts, every figure and the quality gate drift with it."""

from __future__ import annotations

import pytest

from bench.extraction.metric import exact_match, score_page, shingles, summarize, tokens


def test_tokens_are_word_runs_with_case_kept() -> None:
    assert tokens("Hello, World! it's 2024_x — Привет") == [
        "Hello",
        "World",
        "it",
        "s",
        "2024_x",
        "Привет",
    ]


def test_short_text_gives_one_short_shingle_and_empty_gives_none() -> None:
    assert shingles("a b") == {("a", "b"): 1}
    assert not shingles("  ...  ")
    assert sum(shingles("a b c d e").values()) == 2


def test_identical_texts_score_one_whatever_the_punctuation() -> None:
    s = score_page("One two three four five.", "One, two; three four\n\nfive")
    assert (s.precision, s.recall) == (1.0, 1.0)
    assert exact_match("One two", "one two") is False


def test_counts_are_multisets_and_normalised() -> None:
    truth = "a b c d a b c d"  # shingles: abcd, bcda, cdab, dabc, abcd -> abcd twice
    pred = "a b c d"
    s = score_page(truth, pred)
    assert s.tp == pytest.approx(1 / 5)
    assert s.fn == pytest.approx(4 / 5)
    assert s.fp == 0
    assert s.precision == 1.0
    assert s.recall == pytest.approx(0.2)


def test_nothing_in_common_is_zero_and_empty_prediction_only_hurts_recall() -> None:
    miss = score_page("a b c d", "w x y z")
    assert (miss.precision, miss.recall) == (0.0, 0.0)
    empty = score_page("a b c d", "")
    summary = summarize([empty, score_page("a b c d", "a b c d")])
    assert summary.precision == 1.0  # the empty prediction is left out of precision
    assert summary.recall == 0.5
    assert summary.f1 == pytest.approx(2 * 1.0 * 0.5 / 1.5)
