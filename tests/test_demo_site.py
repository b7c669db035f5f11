"""The fixture news site: content matches its manifest, HTTP behaves, faults do harm on cue."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from email.utils import formatdate
from pathlib import Path
from urllib.parse import urlsplit

import defusedxml.ElementTree as safe_et
import feedparser
import lxml.html
import pytest
from defusedxml import EntitiesForbidden
from protego import Protego

from core.errors import ConfigError
from wirewatch.demo_site import FixtureSite, Outlet, Story, load_manifest
from wirewatch.demo_site.content import substitute

MANIFEST = load_manifest()
OUTLETS = {outlet.slug: outlet for outlet in MANIFEST.outlets}
ALL_STORIES = list(MANIFEST.stories())
MIB = 1024 * 1024


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class Reply:
    def __init__(self, status: int, headers: Message, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Reply:
    """One request with urllib, redirects not followed, error statuses returned as replies."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=10) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, error.headers, error.read())


def parse_feed(url: str) -> feedparser.FeedParserDict:
    reply = fetch(url)
    assert reply.status == 200, url
    return feedparser.parse(
        reply.body, response_headers={"content-type": reply.headers["Content-Type"]}
    )


def page(reply: Reply, outlet: Outlet) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(reply.body.decode(outlet.encoding))


def raw_get(site: FixtureSite, path: str, timeout: float = 5.0) -> http.client.HTTPResponse:
    """A request whose path is sent exactly as written (no client-side normalisation)."""
    conn = http.client.HTTPConnection(urlsplit(site.base_url).netloc, timeout=timeout)
    conn.request("GET", path)
    return conn.getresponse()


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureSite]:
    with FixtureSite(faults=True) as running:
        yield running


@pytest.fixture
def plain_site() -> Iterator[FixtureSite]:
    with FixtureSite() as running:
        yield running


# -- manifest --------------------------------------------------------------------------


def test_manifest_describes_the_outlets_the_tests_rely_on() -> None:
    languages = sorted(outlet.language for outlet in MANIFEST.outlets)
    assert languages == ["en", "ru", "ru", "tg"]
    assert {outlet.feed_format for outlet in MANIFEST.outlets} == {"rss", "atom"}
    assert [o.slug for o in MANIFEST.outlets if o.encoding == "windows-1251"] == [
        "moskovsky-vestnik"
    ]
    assert OUTLETS["moskovsky-vestnik"].feed_format == "rss"
    assert [o.slug for o in MANIFEST.outlets if o.feed_full_text] == ["dushanbe-herald"]
    assert [o.slug for o in MANIFEST.outlets if "charset" not in o.feed_content_type] == [
        "akhbori-tojikiston"
    ]
    for outlet in MANIFEST.outlets:
        assert 6 <= len(outlet.stories) <= 10, outlet.slug
        assert any(s.on_beat for s in outlet.stories), outlet.slug
        assert any(not s.on_beat for s in outlet.stories), outlet.slug


def test_story_dates_are_november_2026_with_local_offsets() -> None:
    for story in ALL_STORIES:
        assert (story.published.year, story.published.month) == (2026, 11), story.key
        offset = story.published.utcoffset()
        assert offset in (timedelta(hours=3), timedelta(hours=5)), story.key


def test_syndicated_copy_points_at_an_original_in_another_outlet() -> None:
    copies = [s for s in ALL_STORIES if s.syndicated_from]
    assert len(copies) == 1
    copy = copies[0]
    original = MANIFEST.story(copy.syndicated_from or "")
    assert original.outlet != copy.outlet
    assert original.title != copy.title
    assert original.event == copy.event is not None
    assert original.on_beat and copy.on_beat


def test_same_events_are_reported_in_several_languages() -> None:
    languages: dict[str, set[str]] = {}
    for story in ALL_STORIES:
        if story.event:
            languages.setdefault(story.event, set()).add(OUTLETS[story.outlet].language)
    multilingual = {event for event, langs in languages.items() if len(langs) == 3}
    assert "tj-mvd-moscow-office" in multilingual
    assert len([e for e, langs in languages.items() if len(langs) >= 2]) >= 4


def test_every_manifest_file_exists_and_carries_its_title() -> None:
    for story in ALL_STORIES:
        html_text = MANIFEST.file_of(story).read_bytes().decode(OUTLETS[story.outlet].encoding)
        assert lxml.html.fromstring(html_text).findtext(".//h1") == story.title


def test_broken_manifest_is_refused_with_the_problem_named(tmp_path: Path) -> None:
    (tmp_path / "manifest.yaml").write_text(
        "outlets:\n  - slug: x\n    name: X\n    language: ru\n    timezone: '+03:00'\n"
        "    encoding: utf-8\n    feed_path: rss.xml\n    feed_format: rss\n"
        "    feed_content_type: application/rss+xml\n    feed_full_text: false\n"
        "    feed_link_query: null\n    stories: []\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"feed file rss\.xml is missing"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.yaml").write_text("outlets:\n  - slug: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid"):
        load_manifest(tmp_path)


# -- server basics -------------------------------------------------------------------------


def test_server_listens_on_a_free_loopback_port(site: FixtureSite) -> None:
    match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)", site.base_url)
    assert match and int(match.group(1)) > 0
    assert site.feed_url("asia-wire") == f"{site.base_url}/asia-wire/feeds/all.atom.xml"


def test_address_is_unknown_before_start() -> None:
    with pytest.raises(RuntimeError, match="start"):
        _ = FixtureSite().base_url


def test_no_placeholder_survives_substitution() -> None:
    data = "{{BASE}}/a «{{ROOT}}»".encode("cp1251")
    out = substitute(data, "http://h:1/o", "http://h:1")
    assert out.decode("cp1251") == "http://h:1/o/a «http://h:1»"


@pytest.mark.parametrize("slug", list(OUTLETS))
def test_feed_parses_with_every_story_in_manifest_order(site: FixtureSite, slug: str) -> None:
    outlet = OUTLETS[slug]
    parsed = parse_feed(site.feed_url(slug))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == {"rss": "rss20", "atom": "atom10"}[outlet.feed_format]
    expected = sorted(outlet.stories, key=lambda s: s.published, reverse=True)
    assert [entry.title for entry in parsed.entries] == [s.title for s in expected]
    assert [entry.link for entry in parsed.entries] == [
        outlet.feed_link(s, site.base_url) for s in expected
    ]
    for entry, story in zip(parsed.entries, expected, strict=True):
        assert entry.published_parsed is not None
        published = story.published.utctimetuple()[:6]
        assert tuple(entry.published_parsed)[:6] == published


def test_cp1251_feed_is_served_and_decoded_as_windows_1251(site: FixtureSite) -> None:
    reply = fetch(site.feed_url("moskovsky-vestnik"))
    assert reply.headers["Content-Type"] == "application/rss+xml; charset=windows-1251"
    assert reply.body.startswith(b'<?xml version="1.0" encoding="windows-1251"?>')
    with pytest.raises(UnicodeDecodeError):
        reply.body.decode("utf-8")
    parsed = feedparser.parse(reply.body)
    assert parsed.encoding == "windows-1251"
    titles = {entry.title for entry in parsed.entries}
    assert (
        "Госдума ратифицировала соглашение о представительствах МВД России и Таджикистана" in titles
    )


def test_tajik_feed_without_http_charset_keeps_tajik_letters(site: FixtureSite) -> None:
    reply = fetch(site.feed_url("akhbori-tojikiston"))
    assert reply.headers["Content-Type"] == "application/rss+xml"
    parsed = feedparser.parse(reply.body, response_headers={"content-type": "application/rss+xml"})
    text = " ".join(entry.title for entry in parsed.entries)
    for letter in "ҷҳӣӯқғ":
        assert letter in text
    assert "ВКД-и Тоҷикистон дар Маскав намояндагӣ бо мақоми дипломатӣ мекушояд" in text


def test_only_the_full_text_feed_carries_article_bodies(site: FixtureSite) -> None:
    for outlet in MANIFEST.outlets:
        parsed = parse_feed(site.feed_url(outlet.slug))
        with_content = [entry for entry in parsed.entries if entry.get("content")]
        if outlet.feed_full_text:
            assert len(with_content) == len(outlet.stories)
            body = with_content[0].content[0].value
            assert body.count("<p>") >= 3
        else:
            assert with_content == []
            assert all(len(entry.summary) < 200 for entry in parsed.entries)


@pytest.mark.parametrize("story", ALL_STORIES, ids=lambda s: s.key[:60])
def test_article_page_is_realistic_markup(site: FixtureSite, story: Story) -> None:
    outlet = OUTLETS[story.outlet]
    reply = fetch(story.url(site.base_url))
    assert reply.status == 200
    assert reply.headers["Content-Type"] == f"text/html; charset={outlet.encoding}"
    assert b"{{BASE}}" not in reply.body and b"{{ROOT}}" not in reply.body
    doc = page(reply, outlet)
    assert doc.findtext(".//h1") == story.title
    assert doc.xpath("//time/@datetime")[0] == story.published.isoformat()
    assert doc.xpath("//meta[@property='og:title']/@content") == [story.title]
    canonical = doc.xpath("//link[@rel='canonical']/@href")
    assert canonical == ([story.url(site.base_url)] if story.canonical else [])
    blocks = doc.xpath("//script[@type='application/ld+json']/text()")
    assert len(blocks) == int(story.json_ld)
    if story.json_ld:
        data = json.loads(blocks[0])
        assert data["@type"] == "NewsArticle"
        assert data["headline"] == story.title
        assert data["datePublished"] == story.published.isoformat()
    # boilerplate around the article: navigation, related links, footer
    links = doc.xpath("//a/@href")
    related = {href for href in links if href != story.url(site.base_url)}
    siblings = {s.url(site.base_url) for s in OUTLETS[story.outlet].stories}
    assert len(related & siblings) >= 3


def test_feed_link_with_tracking_parameters_has_a_clean_canonical(site: FixtureSite) -> None:
    outlet = OUTLETS["moskovsky-vestnik"]
    story = outlet.stories[0]
    tracked = outlet.feed_link(story, site.base_url)
    assert "utm_source=rss" in tracked and tracked != story.url(site.base_url)
    reply = fetch(tracked)
    assert reply.status == 200
    assert page(reply, outlet).xpath("//link[@rel='canonical']/@href") == [story.url(site.base_url)]
    assert reply.body == fetch(story.url(site.base_url)).body


def test_syndicated_copy_differs_from_the_original_by_about_one_line(site: FixtureSite) -> None:
    copy = next(s for s in ALL_STORIES if s.syndicated_from)
    original = MANIFEST.story(copy.syndicated_from or "")

    def paragraphs(story: Story) -> list[str]:
        doc = page(fetch(story.url(site.base_url)), OUTLETS[story.outlet])
        body = doc.xpath("//article//p|//div[contains(@class,'article-text')]/p")
        return [p.text_content().strip() for p in body if len(p.text_content()) > 60]

    ours, theirs = set(paragraphs(copy)), set(paragraphs(original))
    assert len(ours & theirs) >= 4
    assert 1 <= len(ours - theirs) <= 2 and 1 <= len(theirs - ours) <= 2


def test_query_keyed_pages_are_distinct_and_unknown_keys_404(site: FixtureSite) -> None:
    outlet = OUTLETS["akhbori-tojikiston"]
    first, second = outlet.stories[0], outlet.stories[1]
    assert "?newsid=" in first.path and "?newsid=" in second.path
    a, b = fetch(first.url(site.base_url)), fetch(second.url(site.base_url))
    assert a.status == b.status == 200 and a.body != b.body
    assert fetch(first.url(site.base_url) + "&utm_source=tg").body == a.body
    assert fetch(f"{outlet.base_url(site.base_url)}/index.php?newsid=1").status == 404
    assert fetch(f"{outlet.base_url(site.base_url)}/index.php").status == 404


def test_homepages_list_their_stories(site: FixtureSite) -> None:
    root = fetch(f"{site.base_url}/")
    assert root.status == 200
    for outlet in MANIFEST.outlets:
        assert outlet.feed_url(site.base_url).encode() in root.body
        home = fetch(outlet.base_url(site.base_url) + "/")
        links = set(page(home, outlet).xpath("//a/@href"))
        assert {s.url(site.base_url) for s in outlet.stories} <= links
    bare = fetch(OUTLETS["asia-wire"].base_url(site.base_url))
    assert bare.status == 301
    assert bare.headers["Location"] == OUTLETS["asia-wire"].base_url(site.base_url) + "/"


@pytest.mark.parametrize("slug", [*OUTLETS, None])
def test_robots_txt_allows_everything(site: FixtureSite, slug: str | None) -> None:
    url = f"{site.base_url}/{slug}/robots.txt" if slug else f"{site.base_url}/robots.txt"
    reply = fetch(url)
    assert reply.status == 200
    robots = Protego.parse(reply.body.decode())
    for story in ALL_STORIES:
        assert robots.can_fetch(story.url(site.base_url), "wirewatch")


def test_unknown_paths_and_escapes_are_404(site: FixtureSite) -> None:
    assert fetch(f"{site.base_url}/no-such-outlet/rss.xml").status == 404
    assert fetch(f"{site.base_url}/asia-wire/no/such/page.html").status == 404
    for path in (
        "/asia-wire/../../../../etc/passwd",
        "/asia-wire/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/asia-wire/..%2f..%2f..%2fmanifest.yaml",
        "/dushanbe-herald/../manifest.yaml",
    ):
        response = raw_get(site, path)
        assert response.status == 404, path
        assert b"outlets:" not in response.read()


# -- validators and HEAD ----------------------------------------------------------------


def _all_outlet_urls(site: FixtureSite) -> list[str]:
    urls = [f"{site.base_url}/robots.txt", f"{site.base_url}/"]
    for outlet in MANIFEST.outlets:
        urls += [outlet.feed_url(site.base_url), outlet.base_url(site.base_url) + "/robots.txt"]
        urls += [outlet.base_url(site.base_url) + "/"]
    return urls + [s.url(site.base_url) for s in ALL_STORIES]


def test_every_file_has_etag_and_last_modified_and_honours_if_none_match(
    site: FixtureSite,
) -> None:
    for url in _all_outlet_urls(site):
        first = fetch(url)
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        assert etag and modified, url
        again = fetch(url, headers={"If-None-Match": etag})
        assert (again.status, again.body) == (304, b""), url
        assert again.headers["ETag"] == etag
        assert fetch(url, headers={"If-None-Match": '"something-else"'}).status == 200


def test_if_modified_since_and_its_precedence(site: FixtureSite) -> None:
    url = site.feed_url("dushanbe-herald")
    modified = fetch(url).headers["Last-Modified"]
    assert fetch(url, headers={"If-Modified-Since": modified}).status == 304
    assert fetch(url, headers={"If-Modified-Since": formatdate(0, usegmt=True)}).status == 200
    assert fetch(url, headers={"If-Modified-Since": "not a date"}).status == 200
    both = {"If-Modified-Since": modified, "If-None-Match": '"stale"'}
    assert fetch(url, headers=both).status == 200  # If-None-Match wins
    assert fetch(url, headers={"If-None-Match": "*"}).status == 304
    weak = "W/" + fetch(url).headers["ETag"]
    assert fetch(url, headers={"If-None-Match": f'"x", {weak}'}).status == 304


def test_head_has_the_get_headers_and_no_body(site: FixtureSite) -> None:
    url = site.feed_url("moskovsky-vestnik")
    get, head = fetch(url), fetch(url, method="HEAD")
    assert head.status == 200 and head.body == b""
    for name in ("Content-Type", "Content-Length", "ETag", "Last-Modified"):
        assert head.headers[name] == get.headers[name]
    assert int(head.headers["Content-Length"]) == len(get.body)
    # A stray HEAD body would be read as the start of the next response.
    address = urlsplit(site.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=5) as raw:
        raw.sendall(f"HEAD {urlsplit(url).path} HTTP/1.1\r\nHost: x\r\n".encode())
        raw.sendall(b"Connection: close\r\n\r\n")
        received = b""
        while chunk := raw.recv(65536):
            received += chunk
    head_part, _, after = received.partition(b"\r\n\r\n")
    assert head_part.startswith(b"HTTP/1.1 200") and after == b""


def test_request_log_records_method_path_and_status(plain_site: FixtureSite) -> None:
    fetch(plain_site.feed_url("asia-wire"))
    fetch(f"{plain_site.base_url}/asia-wire/missing.html", method="HEAD")
    assert plain_site.request_log == [
        ("GET", "/asia-wire/feeds/all.atom.xml", 200),
        ("HEAD", "/asia-wire/missing.html", 404),
    ]


def test_fault_routes_are_off_unless_asked_for(plain_site: FixtureSite) -> None:
    assert fetch(f"{plain_site.base_url}/_faults/malformed.xml").status == 404
    with pytest.raises(RuntimeError, match="faults=True"):
        plain_site.fault_origin("robots-disallow")
    assert b"_faults" not in fetch(f"{plain_site.base_url}/robots.txt").body


# -- fault routes ---------------------------------------------------------------------


def test_malformed_feed_is_not_xml_but_its_items_are_salvageable(site: FixtureSite) -> None:
    reply = fetch(f"{site.base_url}/_faults/malformed.xml")
    with pytest.raises(safe_et.ParseError):
        safe_et.fromstring(reply.body)
    parsed = feedparser.parse(reply.body)
    assert parsed.bozo
    assert len(parsed.entries) == 3
    for entry in parsed.entries:
        assert " & more" in entry.title
        assert entry.link.startswith(site.base_url + "/")
        assert fetch(entry.link).status == 200


@pytest.mark.parametrize("code", [404, 500, 503])
def test_status_route_answers_the_code(site: FixtureSite, code: int) -> None:
    reply = fetch(f"{site.base_url}/_faults/status/{code}")
    assert reply.status == code and "Retry-After" not in reply.headers


def test_429_carries_retry_after_and_bad_codes_404(site: FixtureSite) -> None:
    reply = fetch(f"{site.base_url}/_faults/status/429?retry_after=7")
    assert (reply.status, reply.headers["Retry-After"]) == (429, "7")
    assert fetch(f"{site.base_url}/_faults/status/200").status == 404
    assert fetch(f"{site.base_url}/_faults/status/abc").status == 404


def test_slow_route_answers_only_after_the_delay(site: FixtureSite) -> None:
    url = f"{site.base_url}/_faults/slow?seconds=0.3"
    started = time.monotonic()
    reply = fetch(url)
    assert reply.status == 200 and time.monotonic() - started >= 0.3
    assert feedparser.parse(reply.body).entries
    request = urllib.request.Request(f"{site.base_url}/_faults/slow?seconds=3")
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        urllib.request.urlopen(request, timeout=0.3).close()


def test_stall_after_headers_sends_headers_then_nothing(site: FixtureSite) -> None:
    response = raw_get(site, "/_faults/stall-after-headers?seconds=5", timeout=0.5)
    assert response.status == 200 and response.headers["Content-Length"] == "2048"
    with pytest.raises(TimeoutError):
        response.read()


def test_partial_body_is_cut_short(site: FixtureSite) -> None:
    response = raw_get(site, "/_faults/partial")
    assert response.headers["Content-Length"] == "1024"
    with pytest.raises(http.client.IncompleteRead) as caught:
        response.read()
    assert len(caught.value.partial) == 16


def test_redirect_goes_where_asked(site: FixtureSite) -> None:
    target = site.feed_url("asia-wire")
    reply = fetch(f"{site.base_url}/_faults/redirect?to={target}")
    assert (reply.status, reply.headers["Location"]) == (302, target)
    assert fetch(f"{site.base_url}/_faults/redirect?to={target}&code=301").status == 301
    assert fetch(f"{site.base_url}/_faults/redirect").status == 400
    assert fetch(f"{site.base_url}/_faults/redirect?to=/x&code=200").status == 400


def test_redirect_loop_comes_back_to_its_start(site: FixtureSite) -> None:
    start = f"{site.base_url}/_faults/redirect-loop"
    url, seen = start, []
    for _ in range(4):
        reply = fetch(url)
        assert reply.status == 302
        url = reply.headers["Location"]
        seen.append(url)
    assert seen[1] == start and seen[0] == seen[2] != start


def test_gzip_bomb_is_small_on_the_wire_and_huge_inflated(site: FixtureSite) -> None:
    reply = fetch(f"{site.base_url}/_faults/gzip-bomb")
    assert reply.headers["Content-Encoding"] == "gzip"
    assert len(reply.body) < 200_000
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    total, data = 0, reply.body
    while data:
        chunk = inflater.decompress(data, 4 * MIB)
        total += len(chunk)
        data = inflater.unconsumed_tail
    assert total == 100 * MIB


def test_huge_streams_twenty_mebibytes(site: FixtureSite) -> None:
    response = raw_get(site, "/_faults/huge", timeout=10)
    assert response.headers["Content-Length"] == str(20 * MIB)
    total = 0
    while chunk := response.read(MIB):
        total += len(chunk)
    assert total == 20 * MIB
    small = raw_get(site, "/_faults/huge?mb=1&no_length=1", timeout=10)
    assert small.headers["Content-Length"] is None
    assert len(small.read()) == MIB


def test_robots_disallow_host_forbids_its_pages(site: FixtureSite) -> None:
    for base in (f"{site.base_url}/_faults/robots-disallow", site.fault_origin("robots-disallow")):
        robots = Protego.parse(fetch(f"{base}/robots.txt").body.decode())
        feed = feedparser.parse(fetch(f"{base}/feed.xml").body)
        assert [entry.link for entry in feed.entries] == [
            f"{base}/story-1.html",
            f"{base}/story-2.html",
        ]
        for entry in feed.entries:
            assert not robots.can_fetch(entry.link, "wirewatch")
            assert fetch(entry.link).status == 200  # there for a crawler that ignores robots
    root = Protego.parse(fetch(f"{site.base_url}/robots.txt").body.decode())
    assert not root.can_fetch(f"{site.base_url}/_faults/robots-disallow/story-1.html", "x")
    assert root.can_fetch(site.feed_url("asia-wire"), "x")


def test_robots_503_host_has_pages_but_no_robots(site: FixtureSite) -> None:
    for base in (f"{site.base_url}/_faults/robots-503", site.fault_origin("robots-503")):
        reply = fetch(f"{base}/robots.txt")
        assert reply.status == 503 and reply.headers["Retry-After"]
        assert fetch(f"{base}/story-1.html").status == 200
    origin = site.fault_origin("robots-503")
    fetch(f"{origin}/feed.xml")
    assert site.request_log[-1] == ("GET", "/_faults/robots-503/feed.xml", 200)


def test_billion_laughs_is_a_small_entity_bomb(site: FixtureSite) -> None:
    reply = fetch(f"{site.base_url}/_faults/billion-laughs.xml")
    assert len(reply.body) < 2000 and b"<!ENTITY lol9" in reply.body
    with pytest.raises(EntitiesForbidden):
        safe_et.fromstring(reply.body)


def test_xxe_names_the_file_but_never_carries_it(site: FixtureSite, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("XXE-SECRET-4711", encoding="utf-8")
    reply = fetch(f"{site.base_url}/_faults/xxe.xml?path={secret}")
    assert secret.as_uri().encode() in reply.body
    assert b"XXE-SECRET" not in reply.body
    assert b"/_faults/xxe-canary" in reply.body
    with pytest.raises(EntitiesForbidden):
        safe_et.fromstring(reply.body)
    before = len(site.request_log)
    parsed = feedparser.parse(reply.body)
    assert "XXE-SECRET" not in json.dumps(parsed, default=str)
    assert not any("xxe-canary" in entry[1] for entry in site.request_log[before:])
    assert fetch(f"{site.base_url}/_faults/xxe.xml?path=relative.txt").status == 400
    assert fetch(f"{site.base_url}/_faults/xxe-canary").status == 200


def test_xss_feed_carries_each_payload(site: FixtureSite) -> None:
    reply = fetch(f"{site.base_url}/_faults/xss.xml")
    for marker in (b"<script>", b"onerror=", b'href="javascript:', b"<iframe", b"<svg>", b"data:"):
        assert marker in reply.body
    parsed = feedparser.parse(reply.body)
    assert not parsed.bozo and len(parsed.entries) == 6
    assert parsed.entries[-1].link.startswith("javascript:")


def test_cp1251_bytes_declared_as_utf8(site: FixtureSite) -> None:
    reply = fetch(f"{site.base_url}/_faults/cp1251-as-utf8.xml")
    assert reply.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    assert reply.body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    with pytest.raises(UnicodeDecodeError):
        reply.body.decode("utf-8")
    text = reply.body.decode("cp1251")
    assert "Полный текст читайте на сайте издания." in text
    parsed = feedparser.parse(
        reply.body, response_headers={"content-type": "text/xml; charset=utf-8"}
    )
    assert parsed.bozo


def test_changing_feed_changes_on_every_request_per_key(site: FixtureSite) -> None:
    url = f"{site.base_url}/_faults/changing.xml?key=test-a"
    replies = [fetch(url) for _ in range(3)]
    entries = [feedparser.parse(r.body).entries for r in replies]
    assert [len(e) for e in entries] == [1, 1, 1]
    assert [e[0].title for e in entries] == [
        f"Water supply restored in three districts (update {n})" for n in (1, 2, 3)
    ]
    assert len({e[0].id for e in entries}) == 1
    assert len({r.headers["ETag"] for r in replies}) == 3
    assert fetch(url, headers={"If-None-Match": replies[-1].headers["ETag"]}).status == 200
    other = feedparser.parse(fetch(url.replace("test-a", "test-b")).body)
    assert other.entries[0].title.endswith("(update 1)")
    story = fetch(entries[0][0].link)
    assert b"(update 4)" in story.body
    assert b"(update 4)" in fetch(entries[0][0].link).body  # reading the page changes nothing


def test_unknown_fault_route_is_404(site: FixtureSite) -> None:
    assert fetch(f"{site.base_url}/_faults/nope").status == 404
    index = fetch(f"{site.base_url}/_faults/")
    assert index.status == 200 and b"/_faults/gzip-bomb" in index.body


# -- lifecycle ------------------------------------------------------------------------


def test_stop_ends_stalled_responses_and_idle_connections() -> None:
    running = FixtureSite(faults=True)
    running.start()
    host = urlsplit(running.base_url).netloc
    idle = http.client.HTTPConnection(host, timeout=10)
    idle.request("GET", "/asia-wire/feeds/all.atom.xml")
    idle.getresponse().read()  # keep-alive connection left open
    stalled = http.client.HTTPConnection(host, timeout=10)
    stalled.request("GET", "/_faults/stall-after-headers?seconds=30")
    response = stalled.getresponse()
    outcome: list[object] = []
    reader = threading.Thread(target=lambda: outcome.append(_read_or_error(response)))
    reader.start()
    started = time.monotonic()
    running.stop()
    reader.join(timeout=10)
    assert not reader.is_alive() and time.monotonic() - started < 10
    assert isinstance(outcome[0], http.client.IncompleteRead | ConnectionError)
    assert idle.sock is not None
    idle.sock.settimeout(5)
    assert idle.sock.recv(1) == b""  # the server hung up instead of waiting for more
    idle.close()
    stalled.close()


def _read_or_error(response: http.client.HTTPResponse) -> object:
    try:
        return response.read()
    except (http.client.IncompleteRead, ConnectionError) as exc:
        return exc


def test_command_line_prints_its_address_then_serves() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "wirewatch.demo_site.server", "--port", "0", "--faults"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        match = re.fullmatch(r"serving (http://127\.0\.0\.1:\d+)", first)
        assert match, first
        feed = feedparser.parse(fetch(f"{match.group(1)}/asia-wire/feeds/all.atom.xml").body)
        assert len(feed.entries) == len(OUTLETS["asia-wire"].stories)
        assert fetch(f"{match.group(1)}/_faults/status/500").status == 500
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert "Warning" not in stderr


def test_fixed_port_is_honoured() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with FixtureSite(port=port) as running:
        assert running.base_url == f"http://127.0.0.1:{port}"
        assert fetch(running.feed_url("dushanbe-herald")).status == 200
