"""Deduplication: one entry per story, however many outlets reprint it.

Two layers. Exact: the canonical URL (``crawler.urls``) and the content
fingerprint of the normalised text. Near-duplicate: MinHash LSH over word
shingles, stored in the database, with every candidate verified by exact
shingle overlap before a story joins a cluster. See docs/dedup.md.
"""

from crawler.dedup.changes import is_substantive_change
from crawler.dedup.index import Assignment, Match, NearDuplicateIndex, Removal
from crawler.dedup.minhash import DEFAULT_PARAMS, LshParams, Signature, signature_for
from crawler.dedup.similarity import DEFAULT_THRESHOLDS, Similarity, Thresholds, compare
from crawler.dedup.text import content_fingerprint, normalised_text, tokens

__all__ = [
    "DEFAULT_PARAMS",
    "DEFAULT_THRESHOLDS",
    "Assignment",
    "LshParams",
    "Match",
    "NearDuplicateIndex",
    "Removal",
    "Signature",
    "Similarity",
    "Thresholds",
    "compare",
    "content_fingerprint",
    "is_substantive_change",
    "normalised_text",
    "signature_for",
    "tokens",
]
