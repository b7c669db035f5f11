"""One story's character n-gram block, as the relevance model's vectorizer makes it.

The full relevance model reads a story's character 3-5-grams hashed into
``n_features`` columns and L2-normalised (scikit-learn's ``HashingVectorizer``
with ``char_wb``). For one story at a time, that vectorizer spends about half
its time on per-call checks and sparse-matrix bookkeeping around the n-grams
and their hashes. Here the same n-grams (the vectorizer's own analyzer) are
hashed with the same MurmurHash3 and folded into the same columns, giving the
same sorted columns and the same values: the counts are small integers, so
their sum of squares is exact and the normalised values are bit for bit
those of ``transform`` (checked by ``tests/test_relevance_chars.py``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import HashingVectorizer

# MurmurHash3 of -2**31 has no absolute value in 32 bits; scikit-learn files it here.
_MIN_INT32 = -(2**31)


class CharBlock:
    """The hashed, L2-normalised n-grams of a text: what ``vectorizer.transform([text])``
    holds in its one row, as (sorted column indices, values)."""

    def __init__(self, vectorizer: HashingVectorizer) -> None:
        from sklearn.utils import murmurhash3_32

        if vectorizer.alternate_sign or vectorizer.binary or vectorizer.norm != "l2":
            raise ValueError(
                "CharBlock reproduces only a HashingVectorizer with alternate_sign=False, "
                "binary=False and norm='l2'; build the block with vectorizer.transform instead"
            )
        self._analyze: Callable[[str], list[str]] = vectorizer.build_analyzer()
        self._hash = murmurhash3_32
        self._features: int = vectorizer.n_features
        self._seed = 0  # FeatureHasher's

    def _column(self, gram: str) -> int:
        h: int = self._hash(gram, self._seed)
        features = self._features
        if h == _MIN_INT32:
            return (2147483647 - (features - 1)) % features
        return abs(h) % features

    def __call__(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        columns: dict[int, int] = {}
        for gram, count in Counter(self._analyze(text)).items():
            column = self._column(gram)
            columns[column] = columns.get(column, 0) + count
        indices = np.array(sorted(columns), dtype=np.int32)
        values = np.array([columns[i] for i in indices.tolist()], dtype=np.float64)
        squares = sum(count * count for count in columns.values())  # an exact integer
        if squares:
            values /= math.sqrt(squares)
        return indices, values
