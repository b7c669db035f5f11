"""extract_article end to end: real-looking pages, hostile pages, pages with no article."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from crawler.extraction import Article, ExtractionResult, extract_article
from tests.conftest import corpus

PARAGRAPHS = [
    (
        "The Ministry of Internal Affairs of Tajikistan opened a liaison office in Moscow on Tuesday, "
        "officials said, in a move meant to help tens of thousands of labour migrants."
    ),
    (
        "The office will work with the Russian police on cases involving Tajik citizens and will help "
        "migrants who lost their documents, a ministry spokesman told reporters."
    ),
    (
        "Russia is the main destination for Tajik labour migrants, whose remittances make up a large "
        "share of the country's economy, according to the World Bank."
    ),
    (
        "A similar Russian police office opened in Dushanbe last year under an agreement signed by "
        "the two interior ministers during a visit to the Tajik capital."
    ),
]


def article_page(
    head: str = "", paragraphs: list[str] = PARAGRAPHS, extra_body: str = "", lang: str = "en"
) -> str:
    ps = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>Tajik police office opens in Moscow | Example News</title>{head}</head>"
        "<body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        "<article><h1>Tajik police office opens in Moscow</h1>"
        f"{ps}</article>{extra_body}<footer>© 2024 Example News</footer></body></html>"
    )


def ok(result: ExtractionResult) -> Article:
    assert result.ok, result.error
    assert result.error is None and result.article is not None
    return result.article


def test_article_text_and_metadata() -> None:
    head = (
        '<meta property="og:title" content="Tajik police office opens in Moscow">'
        '<meta property="og:site_name" content="Example News">'
        '<meta property="og:image" content="/img/office.jpg">'
        '<meta name="description" content="A liaison office for migrants.">'
        '<meta name="author" content="By Jane Roe and John Doe">'
        '<meta property="article:published_time" content="2024-03-05T14:30:00+03:00">'
        '<link rel="canonical" href="/world/tajik-office">'
    )
    art = ok(extract_article(article_page(head).encode(), url="https://example.org/x?utm=1"))
    assert art.title == "Tajik police office opens in Moscow"
    assert art.body.split("\n\n") == PARAGRAPHS
    assert art.published == datetime(2024, 3, 5, 14, 30, tzinfo=timezone(timedelta(hours=3)))
    assert art.authors == ["Jane Roe", "John Doe"]
    assert art.language == "en"
    assert art.canonical_url == "https://example.org/world/tajik-office"
    assert art.image_url == "https://example.org/img/office.jpg"
    assert (art.site_name, art.description) == ("Example News", "A liaison office for migrants.")
    assert art.method in ("trafilatura", "combined")
    assert art.encoding == "utf-8"


def test_scripts_styles_and_hidden_markup_never_reach_the_body() -> None:
    hostile = [
        PARAGRAPHS[0]
        + "<script>var secret='SCRIPT_TEXT'; document.write('<p>INJECTED</p>')</script>",
        PARAGRAPHS[1] + "<style>p { color: red } /* STYLE_TEXT */</style>",
        PARAGRAPHS[2] + "<noscript>NOSCRIPT_TEXT</noscript><template>TEMPLATE_TEXT</template>",
        PARAGRAPHS[3] + "<!-- COMMENT_TEXT --><iframe src='x'>IFRAME_TEXT</iframe>",
    ]
    extra = (
        '<script>window.__STATE__ = {"body": "STATE_TEXT"}</script>'
        "<svg><text>SVG_TEXT</text></svg><object>OBJECT_TEXT</object>"
    )
    art = ok(extract_article(article_page(paragraphs=hostile, extra_body=extra).encode()))
    for marker in ("SCRIPT", "INJECTED", "STYLE", "NOSCRIPT", "TEMPLATE", "COMMENT", "IFRAME",
                   "STATE", "SVG", "OBJECT", "var secret", "color: red"):  # fmt: skip
        assert marker not in art.body
    assert "liaison office in Moscow" in art.body


def test_malformed_markup_still_extracts() -> None:
    broken = article_page().replace("</p>", "").replace("</article>", "<div><span>")
    art = ok(extract_article(("\x00" + broken).encode()))
    assert "Russian police office opened in Dushanbe" in art.body


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        (b"", "empty"),
        (b"   \n ", "empty"),
        (b"%PDF-1.7 binary \x00\x01\x02 stream", "not an HTML page"),
        (b"<html><head><title>Login</title></head><body><form><input name=u></form></body></html>",
         "no article text"),
        (b"<html><body><ul><li><a href=/a>Home</a></li><li><a href=/b>News</a></li></ul></body></html>",
         "no article text"),
    ],
)  # fmt: skip
def test_pages_without_an_article_give_a_reason(html: bytes, reason: str) -> None:
    result = extract_article(html)
    assert result.ok is False
    assert result.article is None
    assert result.error is not None and reason in result.error


def test_cp1251_page_mislabelled_utf8_extracts_russian() -> None:
    ru = [
        (
            "Министерство внутренних дел Таджикистана открыло представительство в Москве во вторник, "
            "сообщили в ведомстве. Сотрудники будут помогать трудовым мигрантам."
        ),
        (
            "Представительство будет работать с российской полицией по делам граждан Таджикистана "
            "и поможет мигрантам, потерявшим документы."
        ),
        (
            "Россия остаётся главным направлением для трудовых мигрантов из Таджикистана, "
            "денежные переводы которых составляют значительную долю экономики страны."
        ),
    ]
    page = article_page(paragraphs=ru, lang="ru").replace("utf-8", "utf-8")
    result = extract_article(
        page.encode("cp1251"), headers={"Content-Type": "text/html; charset=utf-8"}
    )
    art = ok(result)
    assert art.encoding == "cp1251"
    assert art.language == "ru"
    assert "Министерство внутренних дел" in art.body


def test_tajik_text_is_tagged_tg_even_when_page_says_ru() -> None:
    tg = [
        (
            "Вазорати корҳои дохилии Ҷумҳурии Тоҷикистон дар шаҳри Маскав намояндагии худро кушод, "
            "ки ба муҳоҷирони меҳнатӣ кӯмак мерасонад."
        ),
        (
            "Намояндагӣ бо пулиси Русия дар масъалаҳои шаҳрвандони Тоҷикистон ҳамкорӣ мекунад ва "
            "ба муҳоҷироне, ки ҳуҷҷатҳояшонро гум кардаанд, ёрӣ медиҳад."
        ),
        (
            "Русия макони асосии муҳоҷирони меҳнатии тоҷик боқӣ мемонад ва интиқоли пулии онҳо "
            "қисми калони иқтисоди кишварро ташкил медиҳад."
        ),
    ]
    art = ok(extract_article(article_page(paragraphs=tg, lang="ru").encode()))
    assert art.language == "tg"


def test_fetch_time_from_date_header_bounds_future_dates() -> None:
    head = '<meta property="article:published_time" content="2024-03-10T10:00:00Z">'
    page = article_page(head).encode()
    early = {"Date": "Tue, 05 Mar 2024 12:00:00 GMT"}
    assert ok(extract_article(page, headers=early)).published is None
    late = {"Date": "Tue, 12 Mar 2024 12:00:00 GMT"}
    assert ok(extract_article(page, headers=late)).published == datetime(
        2024, 3, 10, 10, tzinfo=UTC
    )


def test_jsonld_body_is_a_last_resort_when_the_page_has_no_text() -> None:
    body = " ".join(PARAGRAPHS)
    payload = json.dumps({"@type": "NewsArticle", "headline": "H", "articleBody": body})
    page = (
        f'<html><head><script type="application/ld+json">{payload}</script></head>'
        "<body><div id='app'></div></body></html>"
    )
    art = ok(extract_article(page.encode()))
    # trafilatura's own rescue reads articleBody too; either way the text is the publisher's.
    assert art.method in ("jsonld", "trafilatura")
    assert art.body.split() == body.split()


def test_related_links_and_promo_lines_are_dropped() -> None:
    story = [*PARAGRAPHS[:2], "Related: Migrants queue for permits in Moscow", *PARAGRAPHS[2:]]
    related = (
        "<ul><li><a href='/a'>Migrants queue for permits in Moscow</a></li>"
        "<li><a href='/b'>Dushanbe signs a new police deal</a></li></ul>"
    )
    page = article_page(paragraphs=story).replace("</article>", related + "</article>")
    art = ok(extract_article(page.encode()))
    assert art.body.split("\n\n") == PARAGRAPHS


def test_kommersant_page_from_the_news_corpus() -> None:
    folder = corpus("news", "pages", "fundus", "ru")
    html = gzip.decompress((folder / "Kommersant_2025_05_14.html.gz").read_bytes())
    expected = json.loads((folder / "Kommersant_2025_05_14.expected.json").read_text("utf-8"))
    art = ok(extract_article(html, url=expected["url"]))
    assert art.title == expected["expected"]["title"]
    assert art.authors == expected["expected"]["authors"]
    assert art.published == datetime.fromisoformat(expected["expected"]["publishing_date"])
    assert art.language == "ru"
    first = expected["expected"]["body"]["sections"][0]["paragraphs"][0]
    assert first in art.body


def test_binary_junk_inside_html_is_refused_with_a_reason() -> None:
    junk = bytes(range(256)) * 40
    result = extract_article(b"<html><body><p>" + junk + b"</p></body></html>")
    assert result.ok is False
    assert result.error is not None
    assert "not readable" in result.error or "no article text" in result.error


def test_absurdly_nested_jsonld_does_not_crash() -> None:
    nested = "[" * 50_000
    page = article_page(f'<script type="application/ld+json">{nested}</script>')
    assert ok(extract_article(page.encode())).title == "Tajik police office opens in Moscow"
