"""Telegram channel previews (t.me/s/<channel>) read as feed entries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from core.errors import SourceError
from crawler.feeds import FUTURE_TOLERANCE, FeedEntry, ParsedFeed
from crawler.telegram import (
    NOT_A_PREVIEW,
    TITLE_MAX_CHARS,
    parse_telegram_page,
    post_title,
    telegram_preview_url,
)
from wirewatch.demo_site.telegram_pages import before_of, page_of

DEMO_SITES = Path(__file__).resolve().parent.parent / "wirewatch" / "demo_site" / "sites"
# The channel previews the demo site serves double as the parser's fixtures.
FIXTURES = DEMO_SITES / "telegram" / "s"
CHANNELS = ("dushanbe_herald", "akhbori_tojikiston")
FETCHED_AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
RU_TITLE = "Dushanbe Herald | Новости Таджикистана"
TG_TITLE = "Ахбори Тоҷикистон"


def _page(channel: str) -> ParsedFeed:
    body = (FIXTURES / f"{channel}.html").read_bytes()
    return parse_telegram_page(body, base_url=f"https://t.me/s/{channel}", fetched_at=FETCHED_AT)


def _by_id(feed: ParsedFeed) -> dict[str, FeedEntry]:
    return {entry.link.rsplit("/", 1)[1]: entry for entry in feed.entries}


def _minimal(messages: str, header: str = RU_TITLE) -> bytes:
    head = f'<div class="tgme_channel_info_header_title"><span>{header}</span></div>'
    return f"<html><body>{head if header else ''}{messages}</body></html>".encode()


def _message(post: str, inner: str, stamp: str = "2026-11-27T09:15:00+00:00") -> str:
    return (
        f'<div class="tgme_widget_message_wrap js-widget_message_wrap">'
        f'<div class="tgme_widget_message js-widget_message" data-post="{post}">{inner}'
        f'<a class="tgme_widget_message_date" href="https://t.me/{post}">'
        f'<time datetime="{stamp}" class="time">09:15</time></a></div></div>'
    )


def _text(inner: str) -> str:
    return f'<div class="tgme_widget_message_text js-message_text" dir="auto">{inner}</div>'


# --- the two fixture channels ------------------------------------------------------------


def test_russian_channel_posts_become_entries() -> None:
    feed = _page("dushanbe_herald")
    assert feed.malformed is None
    assert feed.title == RU_TITLE
    assert feed.language is None
    assert [e.link.rsplit("/", 1)[1] for e in feed.entries] == [
        "4811", "4813", "4814", "4815", "4818", "4819", "4821", "4822", "4823",
    ]  # fmt: skip
    for entry in feed.entries:
        assert re.fullmatch(r"https://t\.me/dushanbe_herald/\d+", entry.link)
        assert entry.guid == entry.link
        assert entry.published is not None and entry.published.tzinfo is not None
        assert entry.published.utcoffset() == timedelta(0)
        assert entry.updated is None
        assert entry.authors[0] == RU_TITLE
    latest = _by_id(feed)["4823"]
    assert latest.title == "МВД Таджикистана открывает представительство в Москве"
    assert latest.published == datetime(2026, 11, 27, 9, 15, tzinfo=UTC)


def test_tajik_channel_posts_become_entries() -> None:
    feed = _page("akhbori_tojikiston")
    assert feed.malformed is None
    assert feed.title == TG_TITLE
    posts = _by_id(feed)
    assert list(posts) == ["2201", "2203", "2205", "2207", "2208"]
    assert posts["2201"].title == (
        "ВКД-и Тоҷикистон дар Маскав намояндагӣ бо мақоми дипломатӣ мекушояд"
    )
    assert posts["2208"].title == (
        "Вазорати корҳои дохилӣ: намояндагии ВКД дар Маскав расман ифтитоҳ ёфт"
    )
    assert posts["2208"].published == datetime(2026, 11, 27, 10, 40, tzinfo=UTC)
    assert posts["2208"].link == "https://t.me/akhbori_tojikiston/2208"


def test_text_keeps_line_breaks_and_paragraphs() -> None:
    post = _by_id(_page("dushanbe_herald"))["4815"]
    assert post.content == (
        "В Душанбе заработало представительство МВД России.\n"
        "Церемония открытия прошла в здании посольства РФ; руководитель представительства — "
        "полковник полиции.\n\n"
        "Представительство будет координировать работу по делам о торговле людьми, "
        "наркотрафику & незаконной миграции."
    )
    # One <br> is a line inside the first paragraph; <br><br> ends it.
    assert post.summary == post.content.split("\n\n")[0]
    assert post.title == "В Душанбе заработало представительство МВД России"


def test_blockquote_is_its_own_paragraph() -> None:
    post = _by_id(_page("dushanbe_herald"))["4823"]
    paragraphs = post.content.split("\n\n")
    assert paragraphs[2] == (
        "«Представительство станет постоянным каналом связи между нашими ведомствами», "
        "— сказал министр."
    )
    assert paragraphs[3].startswith("Сотрудники представительства")


def test_entities_and_emoji_are_decoded_text() -> None:
    posts = _by_id(_page("dushanbe_herald"))
    assert '"безопасностью трудовых мигрантов"' in posts["4811"].content
    assert posts["4811"].content.startswith("МВД Таджикистана")  # the emoji left the text
    assert posts["4822"].content.endswith("до −3\u2009°C, днём ожидается до +4\u2009°C.")
    assert "&" not in posts["4811"].content and "&#" not in posts["4822"].content


def test_title_drops_leading_emoji_and_summary_skips_a_headline_paragraph() -> None:
    post = _by_id(_page("akhbori_tojikiston"))["2201"]
    assert post.content.startswith("ВКД-и Тоҷикистон")
    assert not post.content.endswith("Тафсилот: дар сомонаи мо")  # "details: on our site"
    assert post.title.startswith("ВКД-и Тоҷикистон")
    assert post.summary.startswith("Вазорати корҳои дохилии Ҷумҳурии Тоҷикистон")


def test_long_first_sentence_is_trimmed_on_a_word_boundary() -> None:
    post = _by_id(_page("dushanbe_herald"))["4821"]
    assert len(post.title) <= TITLE_MAX_CHARS
    assert post.title.endswith("внутренних…")
    assert post.content.startswith(post.title[:-1])


def test_skipped_posts_are_counted_with_reasons() -> None:
    assert _page("dushanbe_herald").skipped == [
        "message 'dushanbe_herald/4810': service message",
        "message 'dushanbe_herald/4812': no text (photo)",
        "message 'dushanbe_herald/4820': no text (sticker)",
    ]
    assert _page("akhbori_tojikiston").skipped == [
        "message 'akhbori_tojikiston/2202': service message",
        "message 'akhbori_tojikiston/2204': no text (video, media shown only in the app)",
        "message 'akhbori_tojikiston/2206': no text (photo)",
    ]


def test_forwarded_post_names_its_origin_and_signed_post_its_author() -> None:
    ru = _by_id(_page("dushanbe_herald"))
    assert ru["4814"].authors == [RU_TITLE, "МВД Республики Таджикистан"]
    assert ru["4821"].authors == [RU_TITLE, "Фарангис Назарова"]
    tg = _by_id(_page("akhbori_tojikiston"))
    assert tg["2205"].authors == [TG_TITLE, "ВКД Ҷумҳурии Тоҷикистон"]


def test_quoted_reply_is_not_the_post_text() -> None:
    post = _by_id(_page("akhbori_tojikiston"))["2208"]
    assert post.content.startswith("Вазорати корҳои дохилӣ: намояндагии ВКД")
    assert "мақоми дипломатӣ" not in post.content


def test_quoted_text_is_skipped_whatever_its_classes() -> None:
    reply = (
        '<a class="tgme_widget_message_reply" href="https://t.me/chan_x/1">'
        '<div class="tgme_widget_message_text">Цитата из прошлого поста</div></a>'
    )
    body = _minimal(_message("chan_x/2", reply + _text("Ответ канала")))
    assert [e.content for e in parse_telegram_page(body, base_url="x").entries] == ["Ответ канала"]


def test_link_preview_blurb_is_not_the_post_text() -> None:
    post = _by_id(_page("dushanbe_herald"))["4811"]
    assert post.content.endswith("обменом оперативной информацией.")  # "Подробнее" tail cut
    assert "обмене офицерами связи" not in post.content


# --- hostile markup ----------------------------------------------------------------------


def test_injected_script_style_and_handlers_are_dropped() -> None:
    post = _by_id(_page("dushanbe_herald"))["4818"]
    assert post.content == (
        "Таджикистан и Россия согласовали протокол о реадмиссии\n\n"
        "Протокол определяет порядок передачи граждан, незаконно находящихся на территории "
        "другой стороны. Документ вступит в силу после ратификации.\n\n"
        "Текст протокола"
    )
    for field in (post.title, post.summary, post.content):
        for trace in ("<", "document.cookie", "alert", "javascript:", "display:none"):
            assert trace not in field


def test_markup_typed_by_the_author_stays_literal_text() -> None:
    post = _by_id(_page("dushanbe_herald"))["4819"]
    # Telegram escapes what people type; it comes back as the characters they typed,
    # i.e. plain text that every renderer escapes, never as an element.
    assert 'со ссылкой вида <script>alert("patent")</script> — это фишинг' in post.content


@pytest.mark.parametrize(
    "inner",
    [
        "<svg><script>alert(1)</script></svg>Офис МВД",
        '<iframe src="javascript:alert(1)">alert(1)</iframe>Офис МВД',
        "<template><img src=x onerror=alert(1)></template>Офис МВД",
        "<noscript>alert(1)</noscript>Офис МВД",
        "<!-- alert(1) -->Офис МВД",
    ],
)
def test_non_text_elements_never_reach_the_text(inner: str) -> None:
    feed = parse_telegram_page(_minimal(_message("chan_x/7", _text(inner))), base_url="x")
    assert [e.content for e in feed.entries] == ["Офис МВД"]


# --- pages that are not what they claim ---------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n",
        b"\x00\x01\x02\xff\xfe binary",
        b'{"ok": true, "result": []}',
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed</title></channel></rss>',
        # What t.me/<name> answers for a user or a private channel: no channel preview.
        '<html><body><div class="tgme_page"><div class="tgme_page_title"><span>Иван</span>'
        '</div><div class="tgme_page_description">If you have Telegram, you can contact '
        "@ivan right away.</div></div></body></html>".encode(),
    ],
)
def test_a_page_that_is_not_a_channel_preview_is_malformed(body: bytes) -> None:
    feed = parse_telegram_page(body, base_url="https://t.me/s/someone")
    assert feed.malformed == NOT_A_PREVIEW
    assert feed.entries == [] and feed.title == ""


def test_a_channel_without_posts_is_not_malformed() -> None:
    feed = parse_telegram_page(_minimal(""), base_url="https://t.me/s/quiet")
    assert (feed.title, feed.entries, feed.malformed, feed.skipped) == (RU_TITLE, [], None, [])


def test_page_without_header_takes_its_title_from_the_posts() -> None:
    owner = (
        '<div class="tgme_widget_message_author"><a class="tgme_widget_message_owner_name" '
        'href="https://t.me/Ozodi_Demo"><span dir="auto">Радиои Озодӣ</span></a></div>'
    )
    body = _minimal(_message("Ozodi_Demo/55", owner + _text("Хабар дар бораи ВКД")), header="")
    feed = parse_telegram_page(body, base_url="https://t.me/s/ozodi_demo")
    assert feed.malformed is None
    assert feed.title == "Радиои Озодӣ"
    # Channel names are case-insensitive; one spelling keeps deduplication stable.
    assert feed.entries[0].link == "https://t.me/ozodi_demo/55"


def test_bad_and_repeated_post_ids_are_skipped() -> None:
    body = _minimal(
        _message("chan_x/9", _text("Первый"))
        + _message("chan_x/9", _text("Повтор"))
        + _message("../../etc/passwd", _text("Чужой"))
        + _message("chan_x/10", _text("🔥🔥🔥"))
    )
    feed = parse_telegram_page(body, base_url="x")
    assert [e.content for e in feed.entries] == ["Первый"]
    assert feed.skipped == [
        "message 'chan_x/9': listed twice on the page",
        "message '../../etc/passwd': data-post is not <channel>/<number>",
        "message 'chan_x/10': no text",
    ]


def test_page_in_a_declared_legacy_encoding_is_decoded() -> None:
    html = (
        '<html><head><meta charset="windows-1251"></head><body>'
        + _message("chan_x/1", _text("МВД Таджикистана открывает представительство"))
        + "</body></html>"
    )
    feed = parse_telegram_page(html.encode("cp1251"), base_url="x")
    assert feed.entries[0].content == "МВД Таджикистана открывает представительство"


# --- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-11-27T09:15:00+00:00", datetime(2026, 11, 27, 9, 15, tzinfo=UTC)),
        ("2026-11-27T14:15:00+05:00", datetime(2026, 11, 27, 9, 15, tzinfo=UTC)),
        ("2026-11-27T09:15:00", datetime(2026, 11, 27, 9, 15, tzinfo=UTC)),
        ("27 ноября", None),
        ("0001-01-01T00:00:00+05:00", None),
        # Ten minutes of clock skew are tolerated, a day in the future is clamped.
        ("2026-11-29T12:00:00+00:00", FETCHED_AT + FUTURE_TOLERANCE),
    ],
)
def test_post_dates_are_aware_utc(stamp: str, expected: datetime | None) -> None:
    body = _minimal(_message("chan_x/1", _text("Офис МВД"), stamp=stamp))
    entry = parse_telegram_page(body, base_url="x", fetched_at=FETCHED_AT).entries[0]
    assert entry.published == expected
    if entry.published is not None:
        assert entry.published.tzinfo is not None


# --- titles ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("МВД открывает офис в Москве для мигрантов. Об этом сообщили в ведомстве.",
         "МВД открывает офис в Москве для мигрантов"),
        ("Вазорати корҳои дохилӣ хабар дод, ки намояндагӣ кушода шуд. Ҳамзамон гуфта шуд.",
         "Вазорати корҳои дохилӣ хабар дод, ки намояндагӣ кушода шуд"),
        # Initials and "г." do not end a sentence.
        ("Как сообщил Т. Иванов, в 2026 г. офис заработает. Детали позже.",
         "Как сообщил Т. Иванов, в 2026 г. офис заработает"),
        # A short kicker is not a title on its own.
        ("СРОЧНО! МВД Таджикистана открывает представительство в Москве",
         "СРОЧНО! МВД Таджикистана открывает представительство в Москве"),
        ("🔴🔴🔴\n▶️ Офис МВД в Москве открыт?\nПодробности", "Офис МВД в Москве открыт?"),
        ("Interior ministry opens Moscow office\nDetails follow.",
         "Interior ministry opens Moscow office"),
    ],
)  # fmt: skip
def test_post_title(text: str, title: str) -> None:
    assert post_title(text) == title


def test_post_title_trims_long_lines_to_whole_words() -> None:
    words = "представительство " * 20
    title = post_title(words.strip())
    assert len(title) <= TITLE_MAX_CHARS
    assert title.endswith("представительство…")


# --- channel addresses -------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        "asiaplus",
        "@asiaplus",
        "  AsiaPlus  ",
        "t.me/asiaplus",
        "https://t.me/asiaplus",
        "http://t.me/asiaplus/",
        "https://t.me/s/asiaplus",
        "https://t.me/s/asiaplus?before=123",
        "https://T.ME/s/AsiaPlus",
        "https://telegram.me/asiaplus",
        "https://t.me/asiaplus/31337",
    ],
)
def test_preview_url_normalises_channel_references(given: str) -> None:
    assert telegram_preview_url(given) == "https://t.me/s/asiaplus"


def test_preview_url_keeps_digits_and_underscores() -> None:
    assert telegram_preview_url("@mvd_tj_2024") == "https://t.me/s/mvd_tj_2024"


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("", "does not name a public Telegram channel"),
        ("@", "does not name a public Telegram channel"),
        ("abcd", "does not name a public Telegram channel"),
        ("a" * 33, "does not name a public Telegram channel"),
        ("1asiaplus", "does not name a public Telegram channel"),
        ("_asiaplus", "does not name a public Telegram channel"),
        ("asia-plus", "does not name a public Telegram channel"),
        ("asia plus", "does not name a public Telegram channel"),
        ("азияплюс", "does not name a public Telegram channel"),
        ("https://t.me/s/", "not a public channel link"),
        ("https://t.me/+AbCdEfGhIjK", "not a public channel link"),
        ("https://t.me/joinchat/AbCdEfGhIjK", "not a public channel link"),
        ("https://t.me/c/1234567890/55", "not a public channel link"),
        ("https://t.me/share/url?url=x", "not a Telegram channel link"),
        ("https://t.me/addstickers", "link, not a channel"),
        ("https://t.me/asiaplus/abc", "not a Telegram channel link"),
        ("https://example.com/s/asiaplus", "not a Telegram channel link"),
        ("https://t.me.evil.example/s/asiaplus", "not a Telegram channel link"),
        ("ftp://t.me/asiaplus", "not a Telegram channel link"),
        ("javascript:alert(1)//t.me/asiaplus", "not a Telegram channel link"),
        ("http://[::1/s/asiaplus", "not a valid URL"),
    ],
)
def test_preview_url_rejects_what_is_not_a_public_channel(given: str, reason: str) -> None:
    with pytest.raises(SourceError, match=re.escape(reason)):
        telegram_preview_url(given)


# --- the demo site copies ----------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_fixture_links_point_at_demo_site_stories(channel: str) -> None:
    manifest = yaml.safe_load((DEMO_SITES / "manifest.yaml").read_text(encoding="utf-8"))
    stories = {
        f"{outlet['slug']}/{story['path']}"
        for outlet in manifest["outlets"]
        for story in outlet["stories"]
    }
    page = (FIXTURES / f"{channel}.html").read_text(encoding="utf-8")
    links = re.findall(r'href="\{\{ROOT\}\}/([^"]+)"', page)
    assert links, "the page should link to the demo outlets"
    assert set(links) <= stories


# --- paging back through a channel ------------------------------------------------------


def test_more_link_gives_the_older_page_on_the_preview_address() -> None:
    feed = _page("dushanbe_herald")
    assert feed.older_page == "https://t.me/s/dushanbe_herald?before=4810"
    body = (FIXTURES / "dushanbe_herald.html").read_bytes()
    paged = parse_telegram_page(body, base_url="https://t.me/s/dushanbe_herald?before=4900")
    assert paged.older_page == "https://t.me/s/dushanbe_herald?before=4810"


def test_a_page_without_a_more_link_is_the_channels_first() -> None:
    assert (
        parse_telegram_page(
            _minimal(_message("chan/5", _text("x"))), base_url="https://t.me/s/chan"
        ).older_page
        is None
    )


def test_fixture_pages_walk_the_whole_history_once() -> None:
    html = (FIXTURES / "dushanbe_herald.html").read_text(encoding="utf-8")
    all_ids = [int(n) for n in re.findall(r'data-post="dushanbe_herald/(\d+)"', html)]
    seen: list[int] = []
    before: int | None = None
    while True:
        page = page_of(html, "dushanbe_herald", before=before, size=4)
        ids = [int(n) for n in re.findall(r'data-post="dushanbe_herald/(\d+)"', page)]
        assert 0 < len(ids) <= 4 and ids == sorted(ids)
        seen = ids + seen
        feed = parse_telegram_page(page.encode(), base_url="https://t.me/s/dushanbe_herald")
        if feed.older_page is None:
            break
        assert feed.older_page.endswith(f"?before={ids[0]}")
        before = ids[0]
    assert seen == all_ids
    assert before_of("before=4812") == 4812 and before_of("before=x") is None
