"""Adding a source fetches it first and names what it is, or says in one line why not.

Every case is a real HTTP answer from a fixture site on 127.0.0.1 (or a real
failure: a closed port, a ``.invalid`` host, an address the policy refuses).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.failures import FailureKind
from core.netguard import AddressPolicy
from db.models import SourceKind
from tests.servers.sites import StaticSite, static_site
from tests.source_sites import closed_port, pages
from wirewatch.sourcecheck import SourceCheckError, detect, name_for

LOCAL = AddressPolicy(["127.0.0.1"])


@pytest.fixture(scope="module")
def site() -> Iterator[StaticSite]:
    with static_site(pages()) as running:
        yield running


@pytest.mark.parametrize(
    ("path", "kind", "words"),
    [
        ("/rss.xml", SourceKind.FEED, "RSS feed 'Dushanbe Herald' with 2 entries"),
        ("/atom.xml", SourceKind.FEED, "Atom feed 'Asia Wire' with 1 entry"),
        ("/rdf.xml", SourceKind.FEED, "RDF (RSS 1.0) feed 'Vestnik' with 1 entry"),
        ("/feed.json", SourceKind.FEED, "JSON Feed 'Akhbor' with 1 item"),
        ("/sitemap.xml", SourceKind.SITEMAP, "sitemap with 2 URLs"),
        ("/news-sitemap.xml", SourceKind.SITEMAP, "news sitemap with 1 URL"),
        ("/sitemap-index.xml", SourceKind.SITEMAP, "sitemap index naming 2 sitemaps"),
        ("/news", SourceKind.SECTION, "a section page 'Ministry news' with 12 article links"),
        ("/moved", SourceKind.FEED, "RSS feed 'Dushanbe Herald'"),
    ],
)
def test_each_kind_is_found(site: StaticSite, path: str, kind: SourceKind, words: str) -> None:
    found = detect(site.url(path), LOCAL)
    assert found.kind == kind
    assert words in found.found
    assert not found.offered


def test_a_redirect_is_followed_and_the_final_address_kept(site: StaticSite) -> None:
    assert detect(site.url("/moved"), LOCAL).url == site.url("/rss.xml")


def test_a_page_naming_its_feed_offers_the_checked_feed(site: StaticSite) -> None:
    found = detect(site.url("/"), LOCAL)
    assert found.offered and found.kind == SourceKind.FEED
    assert found.url == site.url("/rss.xml") and found.page_url == site.url("/")
    assert "naming the feed" in found.found and "with 2 entries" in found.found
    # The homepage lists articles too: declining the feed leaves the page as a section.
    assert found.fallback is not None and found.fallback.kind == SourceKind.SECTION
    assert detect(site.url("/"), LOCAL, kind=SourceKind.SECTION).kind == SourceKind.SECTION


def test_a_named_feed_that_is_missing_is_not_offered(site: StaticSite) -> None:
    with pytest.raises(SourceCheckError) as refused:
        detect(site.url("/broken-feed"), LOCAL)
    assert "HTTP 404" in str(refused.value) and "/missing.xml" in str(refused.value)


@pytest.mark.parametrize(
    ("path", "failure", "words"),
    [
        ("/nowhere.xml", FailureKind.HTTP, "HTTP 404: Not Found"),
        ("/about", FailureKind.NOT_A_SOURCE, "names no feed"),
        ("/logo.png", FailureKind.NOT_A_SOURCE, "(image/png) is not a feed"),
        ("/news/2026/11/01/ministry-signs-deal-1", FailureKind.NOT_A_SOURCE, "names no feed"),
    ],
)
def test_what_is_no_source_is_refused_in_one_line(
    site: StaticSite, path: str, failure: FailureKind, words: str
) -> None:
    with pytest.raises(SourceCheckError) as refused:
        detect(site.url(path), LOCAL)
    assert refused.value.failure.kind == failure
    message = str(refused.value)
    assert words in message and "\n" not in message
    assert message.startswith(f"{site.url(path)} was not added: ")


def test_a_closed_port_is_a_refused_connection() -> None:
    port = closed_port()
    with pytest.raises(SourceCheckError) as refused:
        detect(f"http://127.0.0.1:{port}/rss.xml", LOCAL)
    assert refused.value.failure.kind == FailureKind.CONNECTION
    assert f"connection refused by 127.0.0.1:{port}" in str(refused.value)


def test_a_host_that_does_not_resolve_is_a_dns_failure() -> None:
    with pytest.raises(SourceCheckError) as refused:
        detect("http://no-such-outlet.invalid/rss.xml", LOCAL)
    assert refused.value.failure.kind == FailureKind.DNS
    assert "DNS: the host no-such-outlet.invalid does not resolve" in str(refused.value)


def test_a_private_address_is_refused_without_the_allowance(site: StaticSite) -> None:
    with pytest.raises(SourceCheckError) as refused:
        detect(site.url("/rss.xml"), AddressPolicy())
    assert refused.value.failure.kind == FailureKind.REFUSED_ADDRESS
    assert "not a public address (loopback)" in str(refused.value)


def test_a_kind_asked_for_must_be_what_is_there(site: StaticSite) -> None:
    with pytest.raises(SourceCheckError) as refused:
        detect(site.url("/sitemap.xml"), LOCAL, kind=SourceKind.FEED)
    assert "asked for a feed source, found sitemap" in str(refused.value)


def test_a_search_template_is_tried_with_a_sample_word(site: StaticSite) -> None:
    found = detect(site.url("/search?q={query}"), LOCAL, kind=SourceKind.SEARCH)
    assert found.kind == SourceKind.SEARCH and found.url.endswith("/search?q={query}")
    assert "/search?q=news" in site.requests
    with pytest.raises(SourceCheckError, match="did not answer with a feed"):
        detect(site.url("/broken-search?q={query}"), LOCAL, kind=SourceKind.SEARCH)
    with pytest.raises(SourceCheckError, match=r"\{query\}"):
        detect(site.url("/search"), LOCAL, kind=SourceKind.SEARCH)


@pytest.mark.parametrize("address", ["https://t.me/s/asiaplus", "t.me/asiaplus", "@asiaplus"])
def test_telegram_channels_are_recognised_by_address(address: str) -> None:
    found = detect(address, AddressPolicy())
    assert found.kind == SourceKind.TELEGRAM and found.url == "https://t.me/s/asiaplus"
    assert name_for(found.url, found.kind) == "tg-asiaplus"


def test_real_feeds_from_the_corpus_are_found(site: StaticSite) -> None:
    real = [path for path in site.pages if path.startswith("/real/")]
    if not real:
        pytest.skip("shared news corpus not found beside the checkout")
    for path in real:
        found = detect(site.url(path), LOCAL)
        assert found.kind == SourceKind.FEED, path
        assert "entries" in found.found or "entry" in found.found


def test_names_come_from_the_host() -> None:
    assert name_for("https://www.asiaplustj.info/ru/news", SourceKind.SECTION) == "asiaplustj.info"
    assert name_for("http://127.0.0.1:8080/rss.xml", SourceKind.FEED) == "127.0.0.1"
