"""Cutting text to the stored limits: on character boundaries, at a word when one is near."""

from __future__ import annotations

import pytest
from scrapy.exceptions import DropItem

from core import limits
from crawler.items import SourceFetchItem, StoryItem
from crawler.pipelines.normalize import normalize_fetch, normalize_story


def test_text_that_fits_is_untouched() -> None:
    assert limits.clip("МВД", 3) == "МВД"
    assert limits.clip("", 5) == ""


def test_a_cut_ends_with_an_ellipsis_within_the_limit() -> None:
    cut = limits.clip("Представительство " * 100, 100)
    assert len(cut) <= 100 and cut.endswith(limits.ELLIPSIS)
    assert cut.startswith("Представительство") and not cut[:-1].endswith(" ")


def test_words_stay_whole_when_a_space_is_near() -> None:
    assert limits.clip("one two three four", 12) == "one two…"


def test_a_long_word_is_cut_where_it_must_be() -> None:
    assert limits.clip("x" * 50, 10) == "x" * 9 + limits.ELLIPSIS


@pytest.mark.parametrize(
    "text",
    [
        "e\u0301" * 30,  # e + combining acute
        "\U0001f469\u200d\U0001f4bb" * 20,  # woman technologist: ZWJ sequence
        "\U0001f44d\U0001f3fd" * 20,  # thumbs up + skin tone
        "\u0438\u0306" * 30,  # и + combining breve (й decomposed)
    ],
)
def test_a_cut_never_splits_a_character(text: str) -> None:
    for limit in range(2, 12):
        cut = limits.clip(text, limit)[:-1]
        assert not cut or not limits._continues(text[len(cut)]), (limit, cut)
        assert not cut.endswith("\u200d")


def test_text_cut_upstream_is_marked() -> None:
    assert limits.clip("short", 10, cut=True) == "short…"
    assert limits.clip("x" * 10, 10, cut=True) == "x" * 9 + limits.ELLIPSIS


def test_values_that_cannot_be_cut_are_dropped() -> None:
    assert limits.fits("https://a.example/", 100) == "https://a.example/"
    assert limits.fits("x" * 101, 100) is None


def test_a_story_is_normalised_within_every_limit() -> None:
    item = StoryItem(
        url="https://a.example/1",
        source_id=1,
        source_name="a",
        title="Заголовок " * 1000,
        body="Текст. " * 100_000,
        summary="Кратко. " * 5000,
        guid="g" * 5000,
        authors=["Автор " * 100] * 50,
        link_canonical="https://a.example/" + "x" * 5000,
        og_url="https://a.example/1",
        links=["https://b.example/" + "y" * 5000, "https://b.example/2"] * 200,
    )
    normalize_story(item)
    assert len(item.title) <= limits.TITLE_CHARS and item.title.endswith(limits.ELLIPSIS)
    assert len(item.body) <= limits.BODY_CHARS
    assert len(item.summary) <= limits.SUMMARY_CHARS
    assert item.guid is not None and len(item.guid) <= limits.GUID_CHARS
    assert len(item.authors) == limits.MAX_AUTHORS
    assert all(len(a) <= limits.AUTHOR_CHARS for a in item.authors)
    assert item.link_canonical is None and item.og_url == "https://a.example/1"
    assert item.links == ["https://b.example/2"] * limits.MAX_LINKS
    assert item.canonical_url == "https://a.example/1"


def test_a_story_whose_address_is_too_long_is_dropped_with_a_reason() -> None:
    item = StoryItem(url="https://a.example/" + "x" * 5000, source_id=1, source_name="a", title="t")
    with pytest.raises(DropItem, match="longer than 4000 characters"):
        normalize_story(item)


def test_a_fetch_outcome_quotes_the_server_within_limits() -> None:
    item = SourceFetchItem(
        source_id=1,
        source_name="a",
        url="https://a.example/rss",
        status=500,
        error="boom " * 10_000,
        etag='"' + "e" * 1000 + '"',
        last_modified="Mon, 07 Dec 2026 10:00:00 GMT",
        malformed="bad " * 10_000,
    )
    normalize_fetch(item)
    assert item.error is not None and len(item.error) <= limits.ERROR_CHARS
    assert item.malformed is not None and len(item.malformed) <= limits.ERROR_CHARS
    assert item.etag is None  # a cut validator would never match again
    assert item.last_modified == "Mon, 07 Dec 2026 10:00:00 GMT"
