"""Canonical URLs: every variant of one article gives one key; distinct articles never share one."""

from __future__ import annotations

import pytest

from crawler.urls import (
    CANONICALIZER_VERSION,
    canonicalize_url,
    choose_canonical,
    registrable_domain,
    url_key,
)

ARTICLE = "https://asiaplustj.info/ru/news/tajikistan/security/20261128/mvd-moskva"


def key(url: str) -> str:
    return url_key(canonicalize_url(url))


@pytest.mark.parametrize(
    "variant",
    [
        "HTTPS://ASIAPLUSTJ.INFO/ru/news/tajikistan/security/20261128/mvd-moskva",
        "https://asiaplustj.info/ru/news/tajikistan/security/20261128/mvd-moskva#comments",
        "https://asiaplustj.info/ru/news/tajikistan/security/20261128/mvd-moskva?utm_source=tg&utm_medium=social",
        "https://asiaplustj.info/ru/news/tajikistan/security/20261128/mvd-moskva?fbclid=IwAR0xyz",
        "https://asiaplustj.info/ru/news/tajikistan/security/20261128/mvd-moskva?yclid=1&ysclid=2&gclid=3",
        "https://asiaplustj.info/ru/news/tajikistan/security/20261128/mvd-moskva/",
        "http://asiaplustj.info/ru/news/tajikistan/security/20261128/mvd-moskva",
        "https://www.asiaplustj.info/ru/news/tajikistan/security/20261128/mvd-moskva",
        "https://asiaplustj.info:443/ru/news/tajikistan/security/20261128/mvd-moskva",
        "https://m.asiaplustj.info/ru/news/tajikistan/security/20261128/mvd-moskva",
        "https://asiaplustj.info/ru/news/tajikistan/security/20261128/mvd-moskva/amp/",
        "https://asiaplustj.info/ru/news/tajikistan/security/20261128/mvd-moskva?amp",
        "https://asiaplustj.info/ru/news/tajikistan/security/20261128/mvd-moskva?amp=1",
        "https://asiaplustj.info/amp/ru/news/tajikistan/security/20261128/mvd-moskva",
        "https://amp.asiaplustj.info/ru/news/tajikistan/security/20261128/mvd-moskva",
        "  https://asiaplustj.info/ru/news/tajikistan/security/20261128/mvd-moskva  ",
    ],
)
def test_variants_of_one_article_share_the_key(variant: str) -> None:
    assert key(variant) == key(ARTICLE)


def test_reordered_query_is_one_key() -> None:
    assert key("https://fergana.news/news/?id=5&lang=ru") == key(
        "https://fergana.news/news/?lang=ru&id=5&utm_campaign=x"
    )


def test_cyrillic_path_and_percent_encoded_path_are_one_key() -> None:
    cyrillic = "https://ria.ru/20261128/мвд-таджикистана-москва.html"
    encoded = (
        "https://ria.ru/20261128/%D0%BC%D0%B2%D0%B4-%D1%82%D0%B0%D0%B4%D0%B6%D0%B8%D0%BA%D0%B8"
        "%D1%81%D1%82%D0%B0%D0%BD%D0%B0-%D0%BC%D0%BE%D1%81%D0%BA%D0%B2%D0%B0.html"
    )
    lower_hex = encoded.replace("%D0", "%d0").replace("%D1", "%d1")
    assert key(cyrillic) == key(encoded) == key(lower_hex)


def test_idn_and_punycode_hosts_are_one_key() -> None:
    punycode = "https://" + "мвд.рф".encode("idna").decode("ascii") + "/news/item/1"
    assert punycode.startswith("https://xn--")
    assert key("https://МВД.РФ/news/item/1") == key(punycode)
    assert canonicalize_url("https://мвд.рф/news/item/1") == punycode


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://khovar.tj/index.php?newsid=7", "https://khovar.tj/index.php?newsid=8"),
        ("https://site.tj/news/?ID=101", "https://site.tj/news/?ID=102"),
        ("https://site.tj/?p=15", "https://site.tj/?p=16"),
        (
            "https://site.tj/bitrix/news.php?ELEMENT_ID=9",
            "https://site.tj/bitrix/news.php?ELEMENT_ID=10",
        ),
        ("https://lenta.ru/news/1", "https://lenta.ru/news/2"),
        ("https://lenta.ru/News/1", "https://lenta.ru/news/1"),  # paths are case-sensitive
        ("https://m.tj/news/1", "https://tj/news/1"),  # m.tj is a site, not a mobile label
    ],
)
def test_distinct_articles_keep_distinct_keys(first: str, second: str) -> None:
    assert key(first) != key(second)


def test_non_tracking_parameters_survive_tracking_removal() -> None:
    url = "https://khovar.tj/index.php?newsid=7&utm_source=rss&page=2&fbclid=x"
    assert canonicalize_url(url) == "https://khovar.tj/index.php?newsid=7&page=2"


def test_canonicalize_is_idempotent() -> None:
    for url in (ARTICLE + "?b=1&a=2#x", "https://мвд.рф/новости?id=1", "http://x.tj:8080/a/"):
        once = canonicalize_url(url)
        assert canonicalize_url(once) == once


def test_unusable_url_raises_with_the_url_in_the_message() -> None:
    with pytest.raises(ValueError, match=r"site\.tj:abc"):
        canonicalize_url("https://site.tj:abc/x")


def test_key_is_fixed_size_hex_and_version_is_an_int() -> None:
    assert len(key(ARTICLE)) == 64 and int(key(ARTICLE), 16) >= 0
    assert isinstance(CANONICALIZER_VERSION, int)


class TestChooseCanonical:
    def test_page_claim_on_the_same_site_wins(self) -> None:
        chosen = choose_canonical(
            "https://m.lenta.ru/news/2026/11/28/mvd/?utm_source=telegram",
            "https://lenta.ru/news/2026/11/28/mvd/",
            "https://lenta.ru/other/",
        )
        assert chosen == "https://lenta.ru/news/2026/11/28/mvd/"

    def test_og_url_is_used_when_there_is_no_link_canonical(self) -> None:
        chosen = choose_canonical(
            "https://sputnik-tj.ru/amp/20261128/x.html", None, "/20261128/x.html"
        )
        assert chosen == "https://sputnik-tj.ru/20261128/x.html"

    def test_a_page_cannot_claim_another_sites_story(self) -> None:
        chosen = choose_canonical(
            "https://copycat.example/stolen", "https://tass.ru/politika/123", "https://tass.ru/x"
        )
        assert chosen == "https://copycat.example/stolen"

    def test_sibling_hosts_on_a_shared_public_suffix_are_different_sites(self) -> None:
        chosen = choose_canonical(
            "https://alice.github.io/post", "https://bob.github.io/post", None
        )
        assert chosen == "https://alice.github.io/post"

    def test_non_http_or_malformed_claims_are_ignored(self) -> None:
        page = "https://ozodi.org/a/1.html"
        assert choose_canonical(page, "javascript:alert(1)", "ftp://ozodi.org/a/1.html") == page
        assert choose_canonical(page, "https://ozodi.org:abc/x", None) == page
        assert choose_canonical(page, "   ", "") == page

    def test_idn_claim_matches_punycode_page(self) -> None:
        page = "https://" + "мвд.рф".encode("idna").decode("ascii") + "/news/1"
        assert choose_canonical(page, "https://мвд.рф/news/1/", None) == canonicalize_url(
            "https://мвд.рф/news/1/"
        )

    def test_ip_hosts_only_accept_their_own_host(self) -> None:
        page = "http://127.0.0.1:8080/x"
        assert choose_canonical(page, "http://127.0.0.1:8080/canon", None).endswith("/canon")
        assert choose_canonical(page, "http://127.0.0.2/canon", None) == page


def test_registrable_domain_knows_multi_label_suffixes() -> None:
    assert registrable_domain("https://news.bbc.co.uk/x") == "bbc.co.uk"
    assert registrable_domain("https://www.ozodi.org/") == "ozodi.org"
    assert registrable_domain("http://127.0.0.1/") is None
