"""Word shingles, MinHash signatures and LSH band hashes, vectorised with numpy.

datasketch's ``MinHash`` hashes each shingle with a Python-level call and
builds its permutations per object; here the words are hashed once (with a
bounded cache: news vocabulary repeats), shingles are combined arithmetically
and all permutations run as one numpy broadcast. The idea is the same: the
probability that two sets share a MinHash value equals their Jaccard
similarity, and hashing ``rows`` values per band turns "similar" into "share a
band hash" for an index lookup.

Everything here is a pure function of the text and ``LshParams``; changing
the parameters changes every band hash, so stored bands must then be rebuilt.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from crawler.dedup.text import fingerprint_of, join_tokens, tokens

U64 = npt.NDArray[np.uint64]

_MASK63 = (1 << 63) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class LshParams:
    """How texts are cut and hashed. ``bands * rows`` MinHash values per text."""

    shingle_size: int = 3
    # 32 bands of 3 rows: a pair with Jaccard 0.4 shares a band with p = 0.88,
    # 0.5 with p = 0.99, 0.2 with p = 0.23 (then rejected by verification).
    bands: int = 32
    rows: int = 3
    seed: int = 20261128
    # Texts with fewer words are too short to tell a copy from a coincidence.
    min_tokens: int = 5
    # Lead bands, appended after the full-text ones: 8 bands of 2 rows over the
    # body's first 40 words. A reprint cut to its lead, a feed teaser, or a copy
    # with a block of boilerplate added at the end contains most of the other text
    # but shares too small a part of the union for the full-text bands (Jaccard
    # 0.05-0.3); it still begins with the same words. A teaser of 20 words shares
    # a lead band with p = 0.97. Stories indexed before these bands existed keep
    # their 32 full-text bands and are still found through those.
    lead_words: int = 40
    lead_bands: int = 8
    lead_rows: int = 2
    # Verification reads this many body shingles from the start ("start alike").
    lead_shingles: int = 70

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows

    @property
    def total_bands(self) -> int:
        """Band rows per indexable story: the full-text bands, then the lead bands."""
        return self.bands + (self.lead_bands if self.lead_words else 0)


DEFAULT_PARAMS = LshParams()


@dataclass(frozen=True, eq=False)
class Signature:
    """What the index needs to know about one text, computed outside any transaction."""

    fingerprint: str
    token_count: int
    # Sorted unique 64-bit shingle hashes: exact Jaccard/containment for verification.
    shingles: U64 = field(repr=False)
    # One non-negative 63-bit hash per band (empty when the text is too short).
    bands: tuple[int, ...]
    params: LshParams = DEFAULT_PARAMS
    # The body's first shingle hashes in text order (``params.lead_shingles``).
    lead: U64 = field(default_factory=lambda: np.empty(0, dtype=np.uint64), repr=False)

    @property
    def indexable(self) -> bool:
        return bool(self.bands)


@lru_cache(maxsize=1 << 17)
def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def _mix(values: U64) -> U64:
    """splitmix64 finaliser: spreads structured inputs over all 64 bits."""
    with np.errstate(over="ignore"):
        z = values ^ (values >> np.uint64(30))
        z = z * np.uint64(0xBF58476D1CE4E5B9)
        z = z ^ (z >> np.uint64(27))
        z = z * np.uint64(0x94D049BB133111EB)
        mixed: U64 = z ^ (z >> np.uint64(31))
        return mixed


def _shingle_hashes(words: list[str], size: int) -> U64:
    if not words:
        return np.empty(0, dtype=np.uint64)
    hashed = np.fromiter((_word_hash(w) for w in words), dtype=np.uint64, count=len(words))
    if len(words) <= size:
        # A text shorter than one shingle is one shingle.
        width = len(words)
        combined = hashed[:1].copy()
        with np.errstate(over="ignore"):
            for i in range(1, width):
                combined = combined * _GOLDEN + hashed[i : i + 1]
        return _mix(combined)
    count = len(words) - size + 1
    combined = hashed[:count].copy()
    with np.errstate(over="ignore"):
        for offset in range(1, size):
            combined = combined * _GOLDEN + hashed[offset : offset + count]
    return _mix(combined)


def shingle_set(title: str, body: str, params: LshParams = DEFAULT_PARAMS) -> U64:
    """Sorted unique shingle hashes of a story; title and body are shingled separately."""
    return _shingles_of(tokens(title), tokens(body), params)[0]


def verification_shingles(
    title: str, body: str, params: LshParams = DEFAULT_PARAMS
) -> tuple[U64, U64]:
    """A stored story's shingle set and lead, as ``signature_for`` makes them."""
    return _shingles_of(tokens(title), tokens(body), params)


def lead_shingles(body: str, params: LshParams = DEFAULT_PARAMS) -> U64:
    """Sorted unique shingles of the body's first ``lead_words`` words, reading only its start."""
    words = tokens(body[: params.lead_words * 20])[: params.lead_words]
    return np.unique(_shingle_hashes(words, params.shingle_size))


def _shingles_of(
    title_tokens: list[str], body_tokens: list[str], params: LshParams
) -> tuple[U64, U64]:
    """(sorted unique shingles of title and body, the body's first shingles in order)."""
    body = _shingle_hashes(body_tokens, params.shingle_size)
    every = np.unique(np.concatenate([_shingle_hashes(title_tokens, params.shingle_size), body]))
    return every, body[: params.lead_shingles]


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> tuple[U64, U64]:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, np.iinfo(np.uint64).max, size=num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, np.iinfo(np.uint64).max, size=num_perm, dtype=np.uint64)
    return a, b


_CHUNK = 2048


def minhash(shingles: U64, params: LshParams = DEFAULT_PARAMS) -> U64:
    """One minimum per permutation (multiply-shift hashing, 32-bit values).

    The shift is monotonic, so it is applied to the minima, not to every value.
    """
    a, b = _permutations(params.num_perm, params.seed)
    result = np.full(params.num_perm, np.iinfo(np.uint64).max, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for start in range(0, len(shingles), _CHUNK):
            values = np.multiply.outer(a, shingles[start : start + _CHUNK])
            values += b[:, None]
            np.minimum(result, values.min(axis=1), out=result)
    return result >> np.uint64(32)


def band_hashes(
    values: U64, params: LshParams = DEFAULT_PARAMS, *, bands: int = 0, rows: int = 0
) -> tuple[int, ...]:
    """One hash per band of ``rows`` MinHash values, as non-negative 63-bit ints.

    SQLite's INTEGER is a signed 64-bit number, so the top bit is dropped.
    """
    bands, rows = bands or params.bands, rows or params.rows
    grid = values.reshape(bands, rows)
    combined = np.zeros(bands, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in range(rows):
            combined = combined * _GOLDEN + grid[:, column]
    mixed = _mix(combined)
    return tuple(int(h) & _MASK63 for h in mixed)


def lead_band_hashes(body_tokens: list[str], params: LshParams = DEFAULT_PARAMS) -> tuple[int, ...]:
    """Bands of the body's first ``lead_words`` words (own permutations; empty if disabled)."""
    if not params.lead_words or not params.lead_bands or not body_tokens:
        return ()
    a, b = _permutations(params.lead_bands * params.lead_rows, params.seed + 1)
    shingles = np.unique(_shingle_hashes(body_tokens[: params.lead_words], params.shingle_size))
    with np.errstate(over="ignore"):
        values = np.multiply.outer(a, shingles)
        values += b[:, None]
    minima = values.min(axis=1) >> np.uint64(32)
    return band_hashes(minima, params, bands=params.lead_bands, rows=params.lead_rows)


def signature_for(title: str, body: str, params: LshParams = DEFAULT_PARAMS) -> Signature:
    """Everything the index needs about one story's text: fingerprint, shingles, bands."""
    title_tokens, body_tokens = tokens(title), tokens(body)
    fingerprint = fingerprint_of(join_tokens(title_tokens, body_tokens))
    token_count = len(title_tokens) + len(body_tokens)
    shingles, lead = _shingles_of(title_tokens, body_tokens, params)
    bands: tuple[int, ...] = ()
    if token_count >= params.min_tokens and len(shingles):
        bands = band_hashes(minhash(shingles, params), params)
        bands += lead_band_hashes(body_tokens, params)
    return Signature(fingerprint, token_count, shingles, bands, params, lead)
