"""Is this candidate a copy? Exact set overlap decides, after the band lookup proposed it.

A shared band only says "probably similar"; the decision uses the exact
Jaccard similarity and containment of the two shingle sets, so a lucky band
collision between two stories on the same topic never merges them.

The thresholds were set on labelled material (see docs/dedup.md): derived
syndicated copies (headline rewritten, paragraph cut or added, boilerplate,
typos) and nine extractions of the same pages must join; Telegram-contest
pairs from different threads, the Lee news set and paraphrased headlines of
different events must stay apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crawler.dedup.minhash import U64


@dataclass(frozen=True)
class Thresholds:
    # Reworded headline + a cut or added paragraph keeps word 3-shingle Jaccard above this.
    jaccard: float = 0.4
    # One text mostly inside the other (lead reprint, page with extra captions) ...
    containment: float = 0.6
    # ... but not a boilerplate-only text inside a full page of the same site.
    containment_min_jaccard: float = 0.25
    # Below this many shingles (about a headline and a sentence) a few shared
    # words mean little: "CSKA reached the cup final" vs "Anzhi reached the cup final".
    short_shingles: int = 20
    short_jaccard: float = 0.8


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Similarity:
    jaccard: float
    containment: float
    smaller: int
    larger: int

    def is_copy(self, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> bool:
        if self.smaller == 0:
            return False
        if self.smaller < thresholds.short_shingles:
            return self.jaccard >= thresholds.short_jaccard
        if self.jaccard >= thresholds.jaccard:
            return True
        return (
            self.containment >= thresholds.containment
            and self.jaccard >= thresholds.containment_min_jaccard
        )


def compare(a: U64, b: U64) -> Similarity:
    """Exact overlap of two sorted unique shingle arrays."""
    smaller, larger = sorted((len(a), len(b)))
    if smaller == 0:
        return Similarity(0.0, 0.0, smaller, larger)
    shared = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - shared
    return Similarity(shared / union, shared / smaller, smaller, larger)
