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
    # Nearly all of one text inside the other (a reprint cut to its lead, a page
    # re-served inside a long block of boilerplate): joins with a lower Jaccard floor.
    contained: float = 0.8
    contained_min_jaccard: float = 0.2
    # Nearly all of the smaller text inside the other and both bodies start alike
    # (a feed teaser of a long article): no Jaccard floor. A boilerplate-only text
    # inside a page of its site does not start where the article does.
    lead_contained: float = 0.8
    # "Start alike": this share of the smaller body's first ``start_probe``
    # shingles is among the larger body's first shingles (``LshParams.lead_shingles``).
    start_probe: int = 8
    start_share: float = 0.75


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Similarity:
    jaccard: float
    containment: float
    smaller: int
    larger: int
    # Share of the smaller body's first shingles found at the start of the larger body.
    start: float = 0.0

    def is_copy(self, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> bool:
        if self.smaller == 0:
            return False
        if self.smaller < thresholds.short_shingles:
            return self.jaccard >= thresholds.short_jaccard
        if self.jaccard >= thresholds.jaccard:
            return True
        if (
            self.containment >= thresholds.contained
            and self.jaccard >= thresholds.contained_min_jaccard
        ):
            return True
        if self.containment >= thresholds.lead_contained and self.start >= thresholds.start_share:
            return True
        return (
            self.containment >= thresholds.containment
            and self.jaccard >= thresholds.containment_min_jaccard
        )


def compare(
    a: U64,
    b: U64,
    a_lead: U64 | None = None,
    b_lead: U64 | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Similarity:
    """Exact overlap of two sorted unique shingle arrays (and of their bodies' starts)."""
    smaller, larger = sorted((len(a), len(b)))
    if smaller == 0:
        return Similarity(0.0, 0.0, smaller, larger)
    shared = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - shared
    start = 0.0
    if a_lead is not None and b_lead is not None:
        first, rest = (a_lead, b_lead) if len(a) <= len(b) else (b_lead, a_lead)
        probe = first[: thresholds.start_probe]
        if len(probe):
            start = float(np.isin(probe, rest).mean())
    return Similarity(shared / union, shared / smaller, smaller, larger, start)
