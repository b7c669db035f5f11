"""The pure parts of the source kinds: sitemap parsing, section links, search strings, polling."""

from __future__ import annotations

import gzip
import random
from datetime import UTC, datetime, timedelta

import pytest

from core.query import parse
from core.query.search_string import search_string
from crawler.feeds import parse_feed
from crawler.polling import (
    PollBounds,
    PollHints,
    cache_max_age_minutes,
    feed_refresh_minutes,
    next_interval_minutes,
    publishing_gap_minutes,
    retry_after_minutes,
)
from crawler.search_feeds import SearchTemplateError, fill, search_requests
from crawler.sections import LinkRulesError, check_rules, find_article_links
from crawler.sitemaps import (
    SitemapError,
    looks_like_sitemap,
    parse_sitemap,
    sitemaps_in_robots,
    usual_locations,
)
from tests.servers.newsroom import Newsroom
from tests.source_kinds_site import build_section_site

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
NEWS = b"""<?xml version="1.0"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>/a/1</loc><news:news><news:title> Police  office opens </news:title>
<news:publication_date>2026-12-07T10:00:00Z</news:publication_date>
<news:publication><news:language>ru</news:language></news:publication></news:news></url>
<url><loc>https://site.example/a/2</loc><lastmod>2026-12-06</lastmod></url>
<url><loc>https://site.example/a/old</loc><lastmod>2020-01-01</lastmod></url>
<url><loc>https://site.example/a/undated</loc></url>
<url><loc>javascript:alert(1)</loc><lastmod>2026-12-07</lastmod></url>
</urlset>"""


def test_a_news_sitemap_keeps_recent_dated_entries_newest_first() -> None:
    sitemap = parse_sitemap(NEWS, base_url="https://site.example/sitemap.xml", fetched_at=NOW)
    assert not sitemap.is_index
    recent = sitemap.recent(now=NOW, window=timedelta(hours=48))
    assert [e.loc for e in recent] == ["https://site.example/a/1", "https://site.example/a/2"]
    first = recent[0]
    assert first.title == "Police office opens" and first.language == "ru"
    assert first.published == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def test_gzip_sitemaps_and_indexes_are_read_and_entities_refused() -> None:
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <sitemap><loc>https://s.example/new.xml.gz</loc></sitemap>
    <sitemap><loc>https://s.example/2019.xml</loc><lastmod>2019-01-01</lastmod></sitemap>
    </sitemapindex>"""
    packed = gzip.compress(index)
    assert looks_like_sitemap(packed)
    parsed = parse_sitemap(packed, base_url="https://s.example/", fetched_at=NOW)
    assert parsed.is_index
    # An undated child of an index is kept; a dated old one is not.
    assert [e.loc for e in parsed.recent(now=NOW, window=timedelta(days=2))] == [
        "https://s.example/new.xml.gz"
    ]
    bomb = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><urlset>&a;</urlset>"""
    with pytest.raises(SitemapError):
        parse_sitemap(bomb, base_url="https://s.example/")
    with pytest.raises(SitemapError, match="not a sitemap"):
        parse_sitemap(b"<rss><channel/></rss>", base_url="https://s.example/")


def test_sitemaps_are_found_in_robots_and_at_the_usual_names() -> None:
    robots = "User-agent: *\nDisallow: /admin\nSitemap: /news-sitemap.xml\nSitemap: ftp://x/y\n"
    assert sitemaps_in_robots(robots, base_url="https://s.example/robots.txt") == [
        "https://s.example/news-sitemap.xml"
    ]
    assert usual_locations("https://s.example/ru/news/")[0] == "https://s.example/news-sitemap.xml"


def test_section_heuristics_keep_articles_and_drop_chrome() -> None:
    site = Newsroom(base_url="https://ministry.example")
    expected = build_section_site(site, NOW)
    links = find_article_links(
        site.pages["/press/"].body, page_url="https://ministry.example/press/", fetched_at=NOW
    )
    assert [link.url for link in links] == list(expected)
    assert [link.text for link in links] == list(expected.values())
    # The date beside each card becomes the story's time.
    assert links[0].published == datetime(2026, 12, 7, 11, 0, tzinfo=UTC)


def test_section_rules_select_links_and_bad_rules_are_named() -> None:
    site = Newsroom(base_url="https://ministry.example")
    build_section_site(site, NOW)
    body = site.pages["/notices/"].body
    page = "https://ministry.example/notices/"
    assert find_article_links(body, page_url=page) == []
    by_css = find_article_links(body, page_url=page, rules={"css": "ul.notice-list"})
    by_xpath = find_article_links(body, page_url=page, rules={"xpath": "//li/a"})
    assert (
        [link.url for link in by_css]
        == [link.url for link in by_xpath]
        == [
            "https://ministry.example/notice?id=1",
            "https://ministry.example/notice?id=2",
        ]
    )
    with pytest.raises(LinkRulesError, match="css"):
        check_rules({"css": "a[[["})
    with pytest.raises(LinkRulesError, match="xpath"):
        check_rules({"xpath": "//a[@"})
    with pytest.raises(LinkRulesError, match="unknown"):
        check_rules({"regex": "x"})


def test_search_strings_keep_what_a_story_must_say() -> None:
    assert search_string(parse('(полиция OR police) AND "liaison office" NOT спорт')) == (
        '(полиция OR police) "liaison office"'
    )
    assert search_string(parse("migra* lang:ru")) == "migra"
    assert search_string(parse("NOT football")) == ""
    assert fill("https://s.example/rss?q={query}&hl=ru", 'a "b c"') == (
        "https://s.example/rss?q=a+%22b+c%22&hl=ru"
    )
    planned = search_requests(
        "https://s.example/rss?q={query}", [("t1", "police AND office"), ("t2", "NOT x")]
    )
    assert [(p.topic, p.url) for p in planned] == [("t1", "https://s.example/rss?q=police+office")]
    with pytest.raises(SearchTemplateError, match="query"):
        search_requests("https://s.example/rss", [])


def test_server_hints_are_read() -> None:
    assert feed_refresh_minutes("60", None, None) == 60
    assert feed_refresh_minutes(None, "hourly", "2") == 30
    assert feed_refresh_minutes("15", "daily", None) == 24 * 60
    assert feed_refresh_minutes("x", "sometimes", None) is None
    assert cache_max_age_minutes("public, max-age=600") == 10
    assert cache_max_age_minutes("no-cache, max-age=600") is None
    assert retry_after_minutes("120", now=NOW) == 2
    assert retry_after_minutes("Mon, 07 Dec 2026 13:00:00 GMT", now=NOW) == 60
    rss = b"""<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
    <channel><title>t</title><ttl>45</ttl><sy:updatePeriod>hourly</sy:updatePeriod>
    <item><title>a</title><link>https://x.example/a</link></item></channel></rss>"""
    assert parse_feed(rss, base_url="https://x.example/").refresh_minutes == 60


def test_intervals_follow_the_rate_within_bounds() -> None:
    bounds = PollBounds(min_minutes=5, max_minutes=24 * 60, jitter=0)
    none = PollHints()
    busy = publishing_gap_minutes(5000, age=timedelta(days=30))
    quiet = publishing_gap_minutes(30, age=timedelta(days=30))
    silent = publishing_gap_minutes(0, age=timedelta(days=30))
    assert publishing_gap_minutes(0, age=timedelta(hours=2)) is None

    def interval(gap: float | None, hints: PollHints = none) -> float:
        return next_interval_minutes(
            gap_minutes=gap, default_minutes=30, hints=hints, bounds=bounds
        )

    assert interval(busy) == 5
    assert interval(quiet) == pytest.approx(7 * 24 * 60 / 30)
    assert interval(silent) == 24 * 60
    assert interval(None) == 30
    # The server's floor raises a busy source's interval; Retry-After waits longer still.
    assert interval(busy, PollHints(feed_minutes=60)) == 60
    assert interval(busy, PollHints(max_age_minutes=15)) == 15
    assert interval(busy, PollHints(retry_after_minutes=90)) == 90
    assert interval(busy, PollHints(retry_after_minutes=10_000)) == 24 * 60


def test_jitter_spreads_intervals_but_stays_in_bounds() -> None:
    rng = random.Random(7)
    bounds = PollBounds(min_minutes=5, max_minutes=60, jitter=0.2)
    seen = {
        round(
            next_interval_minutes(
                gap_minutes=gap, default_minutes=30, hints=PollHints(), bounds=bounds, rng=rng
            ),
            3,
        )
        for gap in (5.0, 30.0, 60.0)
        for _ in range(20)
    }
    assert min(seen) >= 5 and max(seen) <= 60
    assert len(seen) > 20


def test_a_first_crawl_reads_the_rate_over_the_span_its_feed_covers() -> None:
    # Twenty stories of the last two hours: a busy source, not twenty a week.
    assert publishing_gap_minutes(
        20, age=timedelta(days=90), oldest=timedelta(hours=2)
    ) == pytest.approx(6.0)
    # Over at least an hour, and never over more than the window.
    assert publishing_gap_minutes(1, age=timedelta(days=90), oldest=timedelta(0)) == 60
    assert publishing_gap_minutes(
        2, age=timedelta(days=90), oldest=timedelta(days=30)
    ) == pytest.approx(7 * 24 * 60 / 2)
