"""Decoding fetched bytes: declarations, BOMs, and the lies Cyrillic sites tell about them."""

from __future__ import annotations

import codecs

import pytest

from crawler.extraction import decode_html, fix_mojibake
from crawler.extraction.encoding import charset_from_headers, garbage_score

RUSSIAN = (
    "Министерство внутренних дел Таджикистана открыло представительство в Москве. "
    "Сотрудники будут помогать трудовым мигрантам с документами и регистрацией."
)


def page(body: str, head: str = "") -> str:
    return f"<html><head>{head}<title>t</title></head><body><p>{body}</p></body></html>"


def test_utf8_declared_and_true_is_kept() -> None:
    raw = page(RUSSIAN, '<meta charset="utf-8">').encode("utf-8")
    text, encoding = decode_html(raw, {"Content-Type": "text/html; charset=utf-8"})
    assert encoding == "utf-8"
    assert RUSSIAN in text


def test_cp1251_page_mislabelled_utf8_by_http_header() -> None:
    raw = page(RUSSIAN).encode("cp1251")
    text, encoding = decode_html(raw, {"content-type": "text/html; charset=UTF-8"})
    assert encoding == "cp1251"
    assert RUSSIAN in text


def test_cp1251_page_mislabelled_latin1_in_meta() -> None:
    raw = page(RUSSIAN, '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">')
    text, encoding = decode_html(raw.encode("cp1251"), None)
    assert encoding == "cp1251"
    assert RUSSIAN in text


def test_koi8r_page_is_not_read_as_cp1251() -> None:
    raw = page(RUSSIAN, '<meta charset="windows-1251">').encode("koi8-r")
    text, encoding = decode_html(raw, None)
    assert encoding == "koi8-r"
    assert RUSSIAN in text


def test_koi8r_declared_correctly_is_trusted() -> None:
    raw = page(RUSSIAN).encode("koi8-r")
    text, encoding = decode_html(raw, {"Content-Type": "text/html; charset=koi8-r"})
    assert encoding == "koi8-r"
    assert RUSSIAN in text


def test_utf8_page_labelled_cp1251_is_read_as_utf8() -> None:
    raw = page(RUSSIAN, '<meta charset="windows-1251">').encode("utf-8")
    text, encoding = decode_html(raw, None)
    assert encoding == "utf-8"
    assert RUSSIAN in text


def test_http_header_beats_meta_when_both_decode_cleanly() -> None:
    # Latin text decodes cleanly either way; the standard says HTTP wins.
    raw = page("café", '<meta charset="utf-8">').encode("cp1252")
    text, encoding = decode_html(raw, {"Content-Type": "text/html; charset=windows-1252"})
    assert encoding == "cp1252"
    assert "café" in text


def test_meta_wins_when_http_header_is_wrong() -> None:
    raw = page(RUSSIAN, '<meta charset="windows-1251">').encode("cp1251")
    text, encoding = decode_html(raw, {"Content-Type": "text/html; charset=utf-8"})
    assert encoding == "cp1251"
    assert RUSSIAN in text


@pytest.mark.parametrize(
    ("bom", "codec", "expected"),
    [
        (codecs.BOM_UTF8, "utf-8", "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
    ],
)
def test_bom_is_decisive_over_declarations(bom: bytes, codec: str, expected: str) -> None:
    raw = bom + page(RUSSIAN, '<meta charset="koi8-r">').encode(codec)
    text, encoding = decode_html(raw, {"Content-Type": "text/html; charset=windows-1251"})
    assert encoding == expected
    assert text.startswith("<html>")
    assert RUSSIAN in text


def test_undeclared_utf8_is_utf8() -> None:
    text, encoding = decode_html(page(RUSSIAN).encode("utf-8"), {})
    assert (encoding, RUSSIAN in text) == ("utf-8", True)


def test_undeclared_cp1251_is_detected() -> None:
    text, encoding = decode_html(page(RUSSIAN).encode("cp1251"), {})
    assert encoding == "cp1251"
    assert RUSSIAN in text


def test_unknown_charset_label_is_ignored() -> None:
    assert charset_from_headers({"Content-Type": "text/html; charset=x-no-such"}) is None
    _text, encoding = decode_html(
        page(RUSSIAN).encode("utf-8"), {"Content-Type": "text/html; charset=x-no-such"}
    )
    assert encoding == "utf-8"


def test_garbage_score_separates_clean_from_broken() -> None:
    assert garbage_score(RUSSIAN) == 0
    assert garbage_score(RUSSIAN.encode("utf-8").decode("cp1251")) > 50
    assert garbage_score(RUSSIAN.encode("cp1251").decode("koi8-r")) > 50
    assert garbage_score("naïve café in São Paulo, ação") == 0


@pytest.mark.parametrize(
    ("broken", "fixed"),
    [
        ("Ã©tÃ© Ã\xa0 Paris", "été à Paris"),
        ("Itâ€™s a â€œtestâ€\x9d", "It’s a “test”"),
        ("РњРёРіСЂР°РЅС‚С‹ РёР· РўР°РґР¶РёРєРёСЃС‚Р°РЅР°", "Мигранты из Таджикистана"),
    ],
)
def test_fix_mojibake_repairs_double_encoding(broken: str, fixed: str) -> None:
    assert fix_mojibake(broken) == fixed


@pytest.mark.parametrize("wrong_codec", ["latin-1", "cp1251"])
@pytest.mark.parametrize(
    "original", ["Мигранты из Таджикистана", "Вазорати корҳои дохилӣ", "Ёшлар ва меҳнат"]
)
def test_fix_mojibake_round_trips_cyrillic(original: str, wrong_codec: str) -> None:
    broken = original.encode("utf-8").decode(wrong_codec, errors="strict")
    assert broken != original
    assert fix_mojibake(broken) == original


def test_fix_mojibake_repairs_two_rounds() -> None:
    twice = "Душанбе".encode().decode("latin-1").encode().decode("latin-1")
    assert fix_mojibake(twice) == "Душанбе"


@pytest.mark.parametrize(
    "clean",
    ["Привет, мир", "été à Paris", "São Paulo e ação", "Moscow — Москва", "Рёв", "plain ascii", ""],
)
def test_fix_mojibake_leaves_clean_text_alone(clean: str) -> None:
    assert fix_mojibake(clean) == clean


def test_fix_mojibake_keeps_runs_that_lost_bytes() -> None:
    # One byte of the UTF-8 sequence is gone: nothing valid to decode, so no guessing.
    damaged = "Ð¢Ð°Ð´Ð¶Ð¸Ðº".replace("¸", "")
    assert fix_mojibake(damaged) == damaged
