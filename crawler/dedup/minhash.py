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

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows


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
    return _shingles_of(tokens(title), tokens(body), params)


def _shingles_of(title_tokens: list[str], body_tokens: list[str], params: LshParams) -> U64:
    parts = [
        _shingle_hashes(title_tokens, params.shingle_size),
        _shingle_hashes(body_tokens, params.shingle_size),
    ]
    return np.unique(np.concatenate(parts))


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


def band_hashes(values: U64, params: LshParams = DEFAULT_PARAMS) -> tuple[int, ...]:
    """One hash per band of ``rows`` MinHash values, as non-negative 63-bit ints.

    SQLite's INTEGER is a signed 64-bit number, so the top bit is dropped.
    """
    grid = values.reshape(params.bands, params.rows)
    combined = np.zeros(params.bands, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in range(params.rows):
            combined = combined * _GOLDEN + grid[:, column]
    mixed = _mix(combined)
    return tuple(int(h) & _MASK63 for h in mixed)


def signature_for(title: str, body: str, params: LshParams = DEFAULT_PARAMS) -> Signature:
    """Everything the index needs about one story's text: fingerprint, shingles, bands."""
    title_tokens, body_tokens = tokens(title), tokens(body)
    fingerprint = fingerprint_of(join_tokens(title_tokens, body_tokens))
    token_count = len(title_tokens) + len(body_tokens)
    shingles = _shingles_of(title_tokens, body_tokens, params)
    bands: tuple[int, ...] = ()
    if token_count >= params.min_tokens and len(shingles):
        bands = band_hashes(minhash(shingles, params), params)
    return Signature(fingerprint, token_count, shingles, bands, params)
