"""Cyrillic served under another Cyrillic charset is read as what it is, not stored as mojibake.

windows-1251 served as KOI8-R (and the reverse) decodes into letters of the
wrong case and the wrong words; UTF-8 declared windows-1251 became
"Р еспублики". Feeds (feedparser believes the declaration) and article pages
are checked the same way: the decoding whose words are words of a language
wins. Correctly labelled pages in each charset are left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from crawler.extraction import decode_html
from crawler.extraction.encoding import transcode_feed
from crawler.feeds import parse_feed
from crawler.runner import settle, start_crawl
from db import queries
from db.models import CrawlStatus, Story
from db.session import unit_of_work
from tests.test_netguard import LocalSite, local_sites, page

RU_TITLE = "Представительство МВД Республики Таджикистан откроется в Москве"
RU_PARAGRAPHS = [
    (
        "Представительство Министерства внутренних дел Республики Таджикистан откроется в Москве "
        "в следующем месяце. Об этом сообщили в пресс-службе ведомства."
    ),
    (
        "Соглашение об открытии представительства было подписано ещё в прошлом году, но его "
        "ратификация затянулась. Как отметили в министерстве, сотрудники будут помогать "
        "гражданам, которые работают в России."
    ),
    (
        "По словам представителя ведомства, речь идёт прежде всего о мигрантах, у которых "
        "возникли проблемы с документами. Также планируется обмен информацией между "
        "правоохранительными органами двух стран."
    ),
]
TG_TITLE = "Вазорати корҳои дохилии Ҷумҳурии Тоҷикистон дар Маскав намояндагӣ мекушояд"
TG_PARAGRAPHS = [
    (
        "Вазорати корҳои дохилии Ҷумҳурии Тоҷикистон дар шаҳри Маскав намояндагии худро "
        "мекушояд. Ин қарор пас аз гуфтушунидҳои тӯлонӣ қабул шуд."
    ),
    (
        "Ба гуфтаи намояндаи вазорат, кормандони намояндагӣ ба муҳоҷирони меҳнатӣ дар ҳалли "
        "мушкилоти ҳуҷҷатҳо кумак мерасонанд ва бо мақомоти ҳифзи ҳуқуқи Русия ҳамкорӣ мекунанд."
    ),
    "Созишнома дар бораи кушодани намояндагӣ соли гузашта ба имзо расида буд.",
]

# (name, text, the bytes' real charset, the charset the header claims, the <meta>/XML claim)
CASES = [
    ("ru-1251-as-koi8", "ru", "cp1251", "koi8-r", "koi8-r"),
    ("ru-koi8-as-1251", "ru", "koi8-r", "windows-1251", "windows-1251"),
    ("ru-utf8-as-1251", "ru", "utf-8", "windows-1251", "windows-1251"),
    ("tg-utf8-as-1251", "tg", "utf-8", "windows-1251", None),
    ("tg-utf8-as-koi8", "tg", "utf-8", None, "koi8-r"),
    ("ru-1251-meta-koi8", "ru", "cp1251", None, "koi8-r"),
]
CORRECT = [
    ("ru-koi8", "ru", "koi8-r", "koi8-r", "koi8-r"),
    ("ru-1251", "ru", "cp1251", "windows-1251", "windows-1251"),
    ("ru-utf8", "ru", "utf-8", "utf-8", "utf-8"),
    ("tg-utf8", "tg", "utf-8", "utf-8", None),
]


def _text(language: str) -> tuple[str, list[str]]:
    return (RU_TITLE, RU_PARAGRAPHS) if language == "ru" else (TG_TITLE, TG_PARAGRAPHS)


def _content_type(media: str, charset: str | None) -> str:
    return f"{media}; charset={charset}" if charset else media


def _page(language: str, real: str, meta: str | None) -> bytes:
    title, paragraphs = _text(language)
    head = f'<meta charset="{meta}">' if meta else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    html = (
        f"<!doctype html><html lang={language}><head>{head}<title>{title}</title></head>"
        f"<body><header><a href='/'>Главная</a></header><article><h1>{title}</h1>{body}"
        "</article></body></html>"
    )
    return html.encode(real)


def _feed(language: str, real: str, declared: str | None, links: list[str]) -> bytes:
    title, paragraphs = _text(language)
    declaration = f' encoding="{declared}"' if declared else ""
    items = "".join(
        f"<item><title>{title} ({n})</title><link>{link}</link>"
        f"<description>{paragraphs[0]}</description></item>"
        for n, link in enumerate(links, 1)
    )
    return (
        f'<?xml version="1.0"{declaration}?><rss version="2.0"><channel>'
        f"<title>Новости</title><language>{language}</language>{items}</channel></rss>"
    ).encode(real)


@pytest.mark.parametrize(("name", "language", "real", "header", "meta"), [*CASES, *CORRECT])
def test_pages_decode_to_the_text_whatever_the_label(
    name: str, language: str, real: str, header: str | None, meta: str | None
) -> None:
    raw = _page(language, real, meta)
    text, encoding = decode_html(raw, {"Content-Type": _content_type("text/html", header)})
    title, paragraphs = _text(language)
    assert encoding == real, name
    assert title in text and all(p in text for p in paragraphs), name


@pytest.mark.parametrize(("name", "language", "real", "header", "meta"), [*CASES, *CORRECT])
def test_feeds_decode_to_the_text_whatever_the_label(
    name: str, language: str, real: str, header: str | None, meta: str | None
) -> None:
    raw = _feed(language, real, meta, ["https://news.example/1"])
    parsed = parse_feed(
        raw,
        base_url="https://news.example/",
        content_type=_content_type("application/rss+xml", header),
    )
    title, paragraphs = _text(language)
    assert parsed.title == "Новости", name
    [entry] = parsed.entries
    assert entry.title == f"{title} (1)", name
    assert entry.summary == paragraphs[0], name


@pytest.mark.parametrize(("name", "language", "real", "header", "meta"), CORRECT)
def test_a_correctly_labelled_feed_is_handed_on_untouched(
    name: str, language: str, real: str, header: str | None, meta: str | None
) -> None:
    raw = _feed(language, real, meta, ["https://news.example/1"])
    content_type = _content_type("application/rss+xml", header)
    assert transcode_feed(raw, content_type) == (raw, content_type)


def test_short_capitalised_text_is_judged_by_its_words() -> None:
    """A headline in capitals and a short lead: no case pattern to go by, only the words."""
    text = (
        "<html><head><meta charset=koi8-r></head><body><h1>МВД ТАДЖИКИСТАНА ОТКРОЕТ "
        "ПРЕДСТАВИТЕЛЬСТВО В МОСКВЕ</h1><p>Об этом сообщили в ведомстве, и это уже "
        "не первый такой шаг.</p></body></html>"
    )
    decoded, encoding = decode_html(text.encode("cp1251"), {"Content-Type": "text/html"})
    assert encoding == "cp1251" and "МВД ТАДЖИКИСТАНА" in decoded


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with local_sites() as make:
        served = make({})
        for name, language, real, header, meta in CASES + CORRECT:
            links = [served.url(f"/{name}/{n}") for n in (1, 2)]
            # Both of a feed's articles are labelled the way its feed is, one by the
            # header and <meta>, the other by its <meta> alone.
            served.routes[f"/{name}/rss"] = page(
                _feed(language, real, meta, links),
                **{"Content-Type": _content_type("application/rss+xml", header)},
            )
            served.routes[f"/{name}/1"] = page(
                _page(language, real, meta),
                **{"Content-Type": _content_type("text/html", header)},
            )
            served.routes[f"/{name}/2"] = page(
                _page(language, real, meta or header), **{"Content-Type": "text/html"}
            )
        yield served


@pytest.mark.slow
def test_a_crawl_stores_mislabelled_feeds_and_pages_as_their_text(
    tmp_path: Path, database_url: str, session_factory: sessionmaker[Session], site: LocalSite
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        allow_private_hosts=["127.0.0.1"],
        download_delay=0,
    )
    with unit_of_work(session_factory) as session:
        for name, language, *_ in CASES + CORRECT:
            queries.upsert_source(
                session=session, name=name, url=site.url(f"/{name}/rss"), language=language
            )
    handle = start_crawl(settings, session_factory, crawl_all=True, trigger="test")
    handle.wait(timeout=240)
    run = settle(session_factory, handle)
    assert run.status == CrawlStatus.SUCCEEDED, run.errors

    with session_factory() as session:
        stories = {story.url: story for story in session.scalars(select(Story))}
    assert len(stories) == 2 * len(CASES + CORRECT)
    for name, language, *_ in CASES + CORRECT:
        title, paragraphs = _text(language)
        for n in (1, 2):
            story = stories[site.url(f"/{name}/{n}")]
            assert story.title == f"{title} ({n})", (name, n, story.title)
            assert all(p in story.body for p in paragraphs), (name, n, story.body[:200])
            assert story.language == language, (name, n)
