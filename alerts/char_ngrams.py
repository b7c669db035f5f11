"""One story's character n-gram block, as the relevance model's vectorizer makes it.

The full relevance model reads a story's character 3-5-grams hashed into
``n_features`` columns and L2-normalised (scikit-learn's ``HashingVectorizer``
with ``char_wb``). For one story at a time, ``transform`` spends about a third
of its time checking its parameters and input and normalising through the
general sparse-matrix path. Here the vectorizer's own analyzer and its own
hasher (``FeatureHasher``, which sums repeated n-grams and sorts the columns)
do the same work, and the normalisation is done by hand: the counts are small
integers, so their sum of squares is exact and the values are bit for bit
those of ``transform`` (checked by ``tests/test_relevance_chars.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sklearn.feature_extraction import FeatureHasher
    from sklearn.feature_extraction.text import HashingVectorizer


class CharBlock:
    """The hashed, L2-normalised n-grams of a text: what ``vectorizer.transform([text])``
    holds in its one row, as (sorted column indices, values)."""

    def __init__(self, vectorizer: HashingVectorizer) -> None:
        from sklearn.feature_extraction import FeatureHasher

        if vectorizer.alternate_sign or vectorizer.binary or vectorizer.norm != "l2":
            raise ValueError(
                "CharBlock reproduces only a HashingVectorizer with alternate_sign=False, "
                "binary=False and norm='l2'; build the block with vectorizer.transform instead"
            )
        self._analyze: Callable[[str], list[str]] = vectorizer.build_analyzer()
        # The hasher HashingVectorizer.transform itself builds for each call.
        self._hasher: FeatureHasher = FeatureHasher(
            n_features=vectorizer.n_features,
            input_type="string",
            dtype=vectorizer.dtype,
            alternate_sign=False,
        )

    def __call__(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        row = self._hasher.transform([self._analyze(text)])
        indices: np.ndarray = row.indices
        values: np.ndarray = row.data
        squares = float(values @ values)  # whole counts: exact, whatever the order
        if squares:
            values /= math.sqrt(squares)
        return indices, values
