"""The article-extraction benchmark's body metric: shingle precision/recall per page.

The metric is defined in the corpus README (shared/corpora/article-extraction):
word tokens, 4-token shingles counted as multisets, per-page counts normalised so
every page weighs the same, then precision and recall averaged over pages and F1
taken from the two averages. Keeping it here lets the bench and the quality gate
score exactly the same way.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

_WORD = re.compile(r"\w+")
SHINGLE_SIZE = 4


@dataclass(frozen=True)
class PageScore:
    """Normalised true-positive / false-positive / false-negative shares of one page."""

    tp: float
    fp: float
    fn: float

    @property
    def precision(self) -> float:
        if self.fp == 0 and self.fn == 0:
            return 1.0
        if self.tp == 0 and self.fp == 0:
            return 0.0
        return self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float:
        if self.fp == 0 and self.fn == 0:
            return 1.0
        if self.tp == 0 and self.fn == 0:
            return 0.0
        return self.tp / (self.tp + self.fn)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)


@dataclass(frozen=True)
class Summary:
    precision: float
    recall: float
    f1: float
    accuracy: float
    pages: int


def tokens(text: str) -> list[str]:
    return _WORD.findall(text or "")


def shingles(text: str, size: int = SHINGLE_SIZE) -> Counter[tuple[str, ...]]:
    toks = tokens(text)
    if not toks:
        return Counter()
    count = max(1, len(toks) - size + 1)
    return Counter(tuple(toks[i : i + size]) for i in range(count))


def score_page(truth: str, prediction: str) -> PageScore:
    true_sh = shingles(truth)
    pred_sh = shingles(prediction)
    tp = float(sum((true_sh & pred_sh).values()))
    fp = float(sum((pred_sh - true_sh).values()))
    fn = float(sum((true_sh - pred_sh).values()))
    total = tp + fp + fn
    if total > 0:
        tp, fp, fn = tp / total, fp / total, fn / total
    return PageScore(tp, fp, fn)


def summarize(scores: Iterable[PageScore], exact: Iterable[bool] = ()) -> Summary:
    """Average per-page precision and recall, then F1 of the two averages."""
    scores = list(scores)
    precisions = [s.precision for s in scores if s.tp + s.fp > 0]
    recalls = [s.recall for s in scores if s.tp + s.fn > 0]
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    matches = list(exact)
    accuracy = sum(matches) / len(matches) if matches else 0.0
    return Summary(precision, recall, f1, accuracy, len(scores))


def exact_match(truth: str, prediction: str) -> bool:
    return tokens(truth) == tokens(prediction)
