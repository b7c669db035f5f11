"""Page metadata: JSON-LD (valid and broken), dates, language, headline choice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import lxml.html
import pytest

from core.language import detect_language, normalize_language
from crawler.extraction.authors import find_authors
from crawler.extraction.dates import DateFinder, parse_datetime, parse_text_date
from crawler.extraction.extract import _shown_headline, _title
from crawler.extraction.jsonld import parse_jsonld
from crawler.extraction.page_meta import read_page_meta
from crawler.extraction.title import choose_title, strip_site_name

MSK = timezone(timedelta(hours=3))


def tree(head: str = "", body: str = "") -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(f"<html><head>{head}</head><body>{body}</body></html>")


def ld(payload: str) -> str:
    return f'<script type="application/ld+json">{payload}</script>'


def test_jsonld_news_article_fields() -> None:
    page = tree(
        ld(
            """{"@context": "https://schema.org", "@type": "NewsArticle",
            "headline": "МВД Таджикистана открыло офис в Москве",
            "datePublished": "2024-03-05T14:30:00+03:00", "dateModified": "2024-03-06T09:00:00+03:00",
            "author": [{"@type": "Person", "name": "Иван Петров"}, {"@type": "Person", "name": "Anna Lee"}],
            "publisher": {"@type": "Organization", "name": "Пример"},
            "articleBody": "Первый абзац.", "inLanguage": "ru",
            "image": {"@type": "ImageObject", "url": "https://example.org/a.jpg"},
            "mainEntityOfPage": {"@type": "WebPage", "@id": "https://example.org/a"}}"""
        )
    )
    article = parse_jsonld(page)
    assert article is not None
    assert article.headline == "МВД Таджикистана открыло офис в Москве"
    assert article.authors == ["Иван Петров", "Anna Lee"]
    assert article.published == "2024-03-05T14:30:00+03:00"
    assert article.modified == "2024-03-06T09:00:00+03:00"
    assert (article.publisher, article.body, article.language) == ("Пример", "Первый абзац.", "ru")
    assert (article.image, article.url) == ("https://example.org/a.jpg", "https://example.org/a")


def test_jsonld_graph_picks_the_article_not_the_breadcrumbs() -> None:
    page = tree(
        ld(
            """{"@context": "https://schema.org", "@graph": [
              {"@type": "WebSite", "name": "Site"},
              {"@type": "BreadcrumbList", "itemListElement": []},
              {"@type": ["Article", "NewsArticle"], "headline": "The story", "author": "Jane Roe"}]}"""
        )
    )
    article = parse_jsonld(page)
    assert article is not None
    assert (article.headline, article.authors) == ("The story", ["Jane Roe"])


@pytest.mark.parametrize(
    "payload",
    [
        # trailing commas
        '{"@type": "NewsArticle", "headline": "Broken but usable", "author": {"name": "A B"},}',
        # raw newline inside a string, wrapped in an HTML comment
        (
            '<!-- {"@type": "NewsArticle", "headline": "Broken but usable", "author": "A B",\n'
            '"description": "line one\nline two"} -->'
        ),
        # two objects pasted together
        (
            '{"@type": "Organization", "name": "X"} {"@type": "NewsArticle",'
            ' "headline": "Broken but usable", "author": "A B"}'
        ),
    ],
)
def test_malformed_jsonld_is_parsed_leniently(payload: str) -> None:
    article = parse_jsonld(tree(ld(payload)))
    assert article is not None
    assert article.headline == "Broken but usable"
    assert article.authors == ["A B"]


def test_unparseable_jsonld_is_skipped_not_fatal() -> None:
    page = tree(
        ld('{"@type": "NewsArticle", "headline": ')
        + ld('{"@type": "NewsArticle", "headline": "ok"}')
    )
    article = parse_jsonld(page)
    assert article is not None and article.headline == "ok"
    assert parse_jsonld(tree(ld("not json at all {{{"))) is None
    assert parse_jsonld(tree()) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5 марта 2024, 14:30", datetime(2024, 3, 5, 14, 30)),
        ("14:30, 5 марта 2024", datetime(2024, 3, 5, 14, 30)),
        ("12 января 2023 г.", datetime(2023, 1, 12)),
        ("12.01.2023 10:15", datetime(2023, 1, 12, 10, 15)),
        ("March 5, 2024", datetime(2024, 3, 5)),
    ],
)
def test_text_dates(text: str, expected: datetime) -> None:
    assert parse_text_date(text) == expected


def test_relative_or_partial_dates_are_not_guessed() -> None:
    assert parse_text_date("вчера") is None
    assert parse_text_date("3 апреля") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05T14:30:00+03:00", datetime(2024, 3, 5, 14, 30, tzinfo=MSK)),
        ("2024-03-05T11:30:00Z", datetime(2024, 3, 5, 11, 30, tzinfo=UTC)),
        ("2024-03-05T14:30:00+0300", datetime(2024, 3, 5, 14, 30, tzinfo=MSK)),
        ("Tue, 05 Mar 2024 11:30:00 GMT", datetime(2024, 3, 5, 11, 30, tzinfo=UTC)),
        ("Опубликовано 5 марта 2024, 14:30", datetime(2024, 3, 5, 14, 30)),
        ("", None),
        ("no date here", None),
    ],
)
def test_parse_datetime(value: str, expected: datetime | None) -> None:
    assert parse_datetime(value) == expected


NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def find(head: str = "", body: str = "") -> tuple[datetime | None, datetime | None]:
    page = tree(head, body)
    return DateFinder(NOW).find(page, read_page_meta(page), parse_jsonld(page))


def test_dates_are_always_timezone_aware_and_naive_means_utc() -> None:
    published, _ = find('<meta property="article:published_time" content="2024-03-05T14:30:00">')
    assert published == datetime(2024, 3, 5, 14, 30, tzinfo=UTC)


def test_naive_date_takes_the_offset_the_page_uses_elsewhere() -> None:
    published, modified = find(
        '<meta property="article:published_time" content="2024-03-05T14:30:00">'
        '<meta property="article:modified_time" content="2024-03-06T10:00:00+03:00">'
    )
    assert published == datetime(2024, 3, 5, 14, 30, tzinfo=MSK)
    assert modified == datetime(2024, 3, 6, 10, 0, tzinfo=MSK)


def test_jsonld_date_beats_meta() -> None:
    published, _ = find(
        ld('{"@type": "NewsArticle", "headline": "h", "datePublished": "2024-03-01T08:00:00Z"}')
        + '<meta property="article:published_time" content="2024-02-01T08:00:00Z">'
    )
    assert published == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def test_future_dates_beyond_a_day_are_discarded() -> None:
    published, _ = find('<meta property="article:published_time" content="2024-06-05T00:00:00Z">')
    assert published is None
    published, _ = find('<meta property="article:published_time" content="2024-06-02T06:00:00Z">')
    assert published == datetime(2024, 6, 2, 6, 0, tzinfo=UTC)


def test_russian_visible_date_near_the_headline() -> None:
    body = (
        '<a href="/other"><span class="date">1 января 2024</span> Другая новость</a>'
        "<h1>Заголовок</h1><div class='article-date'>5 марта 2024, 14:30</div><p>Текст</p>"
    )
    published, _ = find(body=body)
    assert published == datetime(2024, 3, 5, 14, 30, tzinfo=UTC)


def test_labelled_date_without_class() -> None:
    published, _ = find(body="<h1>Title</h1><ul><li><strong>Дата</strong> 12.01.2023</li></ul>")
    assert published == datetime(2023, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "declared", "expected"),
    [
        (
            "Вазорати корҳои дохилии Ҷумҳурии Тоҷикистон дар шаҳри Маскав намояндагӣ кушод.",
            None,
            "tg",
        ),
        (
            "Вазорати корҳои дохилии Ҷумҳурии Тоҷикистон дар шаҳри Маскав намояндагӣ кушод.",
            "ru",
            "tg",
        ),
        (
            "Министерство внутренних дел открыло представительство в Москве для мигрантов.",
            None,
            "ru",
        ),
        (
            "Міністерство внутрішніх справ відкрило представництво, щоб допомагати їм і євреям.",
            None,
            "uk",
        ),
        ("Министерството на вътрешните работи откри представителство в Москва днес.", "bg", "bg"),
        (
            "The Interior Ministry opened an office in Moscow to help the migrants with papers.",
            None,
            "en",
        ),
        (
            "The Interior Ministry opened an office in Moscow to help the migrants with papers.",
            "ru",
            "en",
        ),
        (
            "Le ministère de l'Intérieur a ouvert un bureau à Moscou pour aider les migrants.",
            "fr-FR",
            "fr",
        ),
        (
            "Le ministère de l'Intérieur a ouvert un bureau à Moscou pour aider les migrants.",
            None,
            None,
        ),
        ("短い", "ja", "ja"),
    ],
)
def test_detect_language(text: str, declared: str | None, expected: str | None) -> None:
    assert detect_language(text, declared) == expected


def test_normalize_language() -> None:
    assert [normalize_language(v) for v in ("ru-RU", "ru_RU", "EN", "x-klingon", "", None)] == [
        "ru", "ru", "en", None, None, None,
    ]  # fmt: skip


def test_site_suffix_is_stripped_from_titles() -> None:
    assert strip_site_name("Story about migrants | DW | 28.04.2023", ["DW.COM"]) == (
        "Story about migrants"
    )
    assert strip_site_name("Asia-Plus — Story: part one - part two", ["Asia-Plus"]) == (
        "Story: part one - part two"
    )
    assert strip_site_name("Left | Right", ["Other"]) == "Left | Right"


def test_title_by_agreement_and_mojibake_repaired() -> None:
    chosen = choose_title(
        [
            "Truncated headl",
            "Full headline here",
            "Full headline here | Site",
            "Full headline here",
        ],
        ["Site"],
    )
    assert chosen == "Full headline here"
    assert choose_title(["Ð\x9cÐ¾Ñ\x81ÐºÐ²Ð°"], []) == "Москва"
    assert choose_title([None, "  "], []) is None


# --- rules checked against the hand-read news pages (tests/data/news_metadata.json) ------


def test_meta_values_written_in_a_value_attribute_are_read() -> None:
    meta = read_page_meta(
        tree('<meta value="2016-12-14T06:02:15Z" name="og:article:published_time">')
    )
    assert meta.first("og:article:published_time") == "2016-12-14T06:02:15Z"


def test_microdata_date_on_a_visible_element_with_an_offset_missing_its_zero() -> None:
    body = '<span class="author-timestamp" itemprop="datePublished" content="2018-10-29T10:15-500">'
    published, _ = find(body=body + "October 29, 2018</span>")
    assert published == datetime(2018, 10, 29, 10, 15, tzinfo=timezone(timedelta(hours=-5)))


def test_a_date_most_statements_agree_on_beats_a_contradicted_json_ld_date() -> None:
    published, _ = find(
        ld('{"@type": "NewsArticle", "headline": "h", "datePublished": "2017-11-17T10:41:09Z"}')
        + '<meta itemprop="datePublished" content="2017-11-16T14:15+0000">',
        '<time itemprop="datePublished" datetime="2017-11-16T14:15+0000">16 November 2017</time>',
    )
    assert published == datetime(2017, 11, 16, 14, 15, tzinfo=UTC)


def test_a_day_only_statement_yields_to_a_timed_one_for_the_same_day() -> None:
    published, _ = find(
        '<meta name="date" value="2016-12-15">',
        '<time datetime="2016-12-15T15:33:00-05:00">December 15, 2016 3:33 PM ET</time>',
    )
    assert published == datetime(2016, 12, 15, 15, 33, tzinfo=timezone(timedelta(hours=-5)))


@pytest.mark.parametrize(
    ("line", "naive", "hours"),
    [
        ("First published February 1, 2016: 1:28 AM ET", "2016-02-01T01:28:49", -5),
        ("Updated July 4, 2019, 10:05 p.m. ET", "2019-07-04T22:05:00", -4),
        ("Thu 3 Jan 2019 02.00 GMT", "2019-01-03T02:00:00", 0),
        ("14 мая 2024, 20:28 МСК", "2024-05-14T20:28:00", 3),
    ],
)
def test_a_naive_metadata_time_takes_the_zone_its_dateline_names(
    line: str, naive: str, hours: int
) -> None:
    published, _ = find(
        f'<meta name="date" content="{naive}">', f'<span class="datestamp">{line}</span>'
    )
    assert published is not None and published.utcoffset() == timedelta(hours=hours)
    assert published.replace(tzinfo=None) == datetime.fromisoformat(naive)


def test_a_dateline_with_another_clock_time_gives_no_zone() -> None:
    published, _ = find(
        '<meta name="date" content="2016-02-01T01:28:49">',
        '<span class="datestamp">Updated February 1, 2016: 12:41 PM ET</span>',
    )
    assert published == datetime(2016, 2, 1, 1, 28, 49, tzinfo=UTC)


def _authors(
    head: str = "", body: str = "", sites: tuple[str, ...] = ("Example News",)
) -> list[str]:
    page = tree(head, body)
    return find_authors(page, read_page_meta(page), parse_jsonld(page), sites)


def test_the_byline_most_statements_agree_on_wins() -> None:
    head = (
        ld('{"@type": "NewsArticle", "headline": "h", "author": {"name": "Staff reporter"}}')
        + '<meta property="article:author" content="Associated Press in Valencia">'
    )
    body = (
        '<address data-component="meta-byline"><span>Associated Press in Valencia</span></address>'
    )
    assert _authors(head, body) == ["Associated Press"]
    # Alone against one other statement, JSON-LD keeps its word.
    assert _authors(head.split("<meta")[0] + '<meta name="author" content="Jane Roe">') == [
        "Staff reporter"
    ]


def test_visible_byline_when_the_head_names_nobody() -> None:
    body = (
        "<h1>Headline</h1><p class='byline'>By Howard Schneider, Lindsay Dunsmuir</p>"
        "<p>Story.</p><div class='related'><a class='author' href='/x'>Other Writer</a></div>"
    )
    assert _authors(body=body) == ["Howard Schneider", "Lindsay Dunsmuir"]
    two_links = "<p><a class='author'>Julia Carrie Wong</a> and <a class='author'>Sam Levin</a></p>"
    assert _authors(body=two_links) == ["Julia Carrie Wong", "Sam Levin"]


def test_byline_parts_that_are_not_names_are_skipped() -> None:
    body = (
        "<div class='byline'><span class='byline__name'>Rebecca Hersher</span>"
        "<a class='byline__social'>Twitter</a><span class='author-role'>Opinion writer</span>"
        "<span class='tweet-authors'>Follow @rhersher</span></div>"
    )
    assert _authors(body=body) == ["Rebecca Hersher"]


def test_labelled_author_line() -> None:
    body = "<ul><li><strong>Datum</strong> 28.04.2023</li><li><strong>Autorin/Autor</strong> Roman Goncharenko</li></ul>"
    assert _authors('<meta name="author" content="Deutsche Welle (www.dw.com)">', body) == [
        "Roman Goncharenko"
    ]


def test_publisher_domains_and_affiliations_are_not_authors() -> None:
    assert _authors('<meta name="author" content="Deutsche Welle (www.dw.com)">') == []
    byline = "Dana A. Ford, James S.A. Corey, Chien-Ming Wang, and Tom Watkins, CNN"
    assert _authors(f'<meta name="author" content="{byline}">', sites=("CNN",)) == [
        "Dana A. Ford", "James S.A. Corey", "Chien-Ming Wang", "Tom Watkins",
    ]  # fmt: skip
    # An agency byline that is also the site's name stays when it is the only one.
    assert _authors('<meta name="author" content="Euronews">', sites=("euronews",)) == ["Euronews"]


def test_h1_repeated_by_the_title_tag_beats_a_social_title() -> None:
    head = (
        '<meta property="og:title" content="New York ramps up mass burials amid virus outbreak">'
        '<meta name="twitter:title" content="New York ramps up mass burials amid virus outbreak">'
        "<title>Coronavirus: New York ramps up mass burials amid outbreak - BBC News</title>"
    )
    body = "<h1>Coronavirus: New York ramps up mass burials amid outbreak</h1>" + "<p>x</p>"
    meta = read_page_meta(tree(head, body))
    assert _title(meta, None, "https://www.bbc.com/news/1") == (
        "Coronavirus: New York ramps up mass burials amid outbreak"
    )
    # A logo heading the <title> only carries as the site's name is not the headline.
    title = "Story here - Example News Today"
    assert _shown_headline(["Example News Today"], title, ["Example News Today"]) is None
