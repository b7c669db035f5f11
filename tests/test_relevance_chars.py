"""The full relevance model's character block for one story, without scikit-learn's
per-call checks: the same columns and bit for bit the same values."""

from __future__ import annotations

import pytest
from sklearn.feature_extraction.text import HashingVectorizer

from alerts import relevance
from alerts.char_ngrams import CharBlock
from bench.matching.topic_quality import beat_files, load_rows


def _same(block: CharBlock, vectorizer: HashingVectorizer, text: str) -> None:
    expected = vectorizer.transform([text])
    expected.sort_indices()
    indices, values = block(text)
    assert indices.tolist() == expected.indices.tolist()
    assert values.tobytes() == expected.data.tobytes()  # bit for bit, not approximately


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a",
        "   ",
        "МВД открыло представительство в Москве",
        "ВКД намояндагӣ кушод; Ҳукумати Тоҷикистон",
        "The interior ministry opened an office. THE OFFICE, the office!",
        "ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab",
    ],
)
def test_one_text_is_hashed_as_the_vectorizer_does(text: str) -> None:
    vectorizer = relevance._chars_vectorizer()
    _same(CharBlock(vectorizer), vectorizer, text)


def test_every_labelled_story_is_hashed_as_the_vectorizer_does() -> None:
    vectorizer = relevance._chars_vectorizer()
    block = CharBlock(vectorizer)
    for path in beat_files():
        for row in load_rows(path):
            title, text = str(row["title"]), str(row["text"])
            _same(block, vectorizer, f"{title} {title} {text[: relevance.CHAR_TEXT]}")


def test_colliding_ngrams_share_a_column_as_in_the_vectorizer() -> None:
    # With 16 columns nearly every story has n-grams that fall into one column.
    vectorizer = HashingVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), n_features=16, alternate_sign=False
    )
    _same(CharBlock(vectorizer), vectorizer, "Мигранты и полиция: пункт связи откроют к лету.")


def test_a_vectorizer_it_cannot_reproduce_is_refused() -> None:
    with pytest.raises(ValueError, match="alternate_sign=False"):
        CharBlock(HashingVectorizer(analyzer="char_wb", alternate_sign=True))
