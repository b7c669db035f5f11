"""Telegram post text as a reader skims it: no emoji, "read more" tails, hashtags or signatures.

The posts below are written the way Central-Asian and Russian news channels
post on t.me (a bold headline, a paragraph, a link to the full story, a row of
hashtags, the channel's signature), in Russian, Tajik, Uzbek and English.
"""

from __future__ import annotations

import pytest

from crawler.telegram import TelegramPost, clean_post_text, parse_telegram_page

ARTICLE = "https://asiaplustj.info/ru/news/tajikistan/security/20261127/mvd-otkrylo-ofis"


def _emoji(char: str) -> str:
    return f'<i class="emoji" style="background-image:url(\'//telegram.org/img/emoji/40/X.png\')"><b>{char}</b></i>'


def _page(*posts: str, title: str = "ASIA-Plus") -> bytes:
    messages = "".join(
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
        f'<div class="tgme_widget_message js-widget_message" data-post="asiaplus/{100 + i}">'
        f'<div class="tgme_widget_message_text js-message_text" dir="auto">{post}</div>'
        f'<a class="tgme_widget_message_date" href="https://t.me/asiaplus/{100 + i}">'
        '<time datetime="2026-11-27T09:15:00+00:00">09:15</time></a></div></div>'
        for i, post in enumerate(posts)
    )
    header = f'<div class="tgme_channel_info_header_title"><span>{title}</span></div>'
    return f"<html><body>{header}{messages}</body></html>".encode()


def _posts(*posts: str, title: str = "ASIA-Plus") -> list[TelegramPost]:
    feed = parse_telegram_page(_page(*posts, title=title), base_url="https://t.me/s/asiaplus")
    assert all(isinstance(e, TelegramPost) for e in feed.entries)
    return [e for e in feed.entries if isinstance(e, TelegramPost)]


def test_a_typical_news_post_keeps_its_story_and_its_article_link() -> None:
    post = _posts(
        f"{_emoji('⚡️')} <b>МВД Таджикистана открыло представительство в Москве</b><br/><br/>"
        "Офис будет работать при посольстве и займётся защитой трудовых мигрантов, "
        "сообщили в министерстве.<br/><br/>"
        f'{_emoji("👉")} Подробнее: <a href="{ARTICLE}" target="_blank">{ARTICLE[:40]}…</a><br/><br/>'
        '<a href="?q=%23%D0%BC%D0%B8%D0%B3%D1%80%D0%B0%D1%86%D0%B8%D1%8F">#миграция</a> '
        '<a href="?q=%23%D0%9C%D0%92%D0%94">#МВД</a><br/><br/>'
        '<a href="https://t.me/asiaplus">@asiaplus</a> | Подписаться'
    )[0]
    assert post.content == (
        "МВД Таджикистана открыло представительство в Москве\n\n"
        "Офис будет работать при посольстве и займётся защитой трудовых мигрантов, "
        "сообщили в министерстве."
    )
    assert post.title == "МВД Таджикистана открыло представительство в Москве"
    assert post.links == [ARTICLE]


@pytest.mark.parametrize(
    ("tail", "language"),
    [
        ("Подробнее — на нашем сайте", "ru"),
        ("Подробнее по ссылке", "ru"),
        ("Читать полностью: https://example.tj/a/1", "ru"),
        ("Read more: https://example.com/story", "en"),
        ("More ➡️ https://example.com/story", "en"),
        ("Муфассал: https://ozodi.org/a/1.html", "tg"),
        ("Бештар хонед ➡️ https://ozodi.org/a/1.html", "tg"),
        ("Тафсилот: дар сомонаи мо", "tg"),
        ("Batafsil: https://kun.uz/news/1", "uz"),
    ],
)
def test_read_more_tails_leave_the_body(tail: str, language: str) -> None:
    story = "Правительство утвердило программу поддержки трудовых мигрантов на 2027 год."
    assert clean_post_text(f"{story}\n\n{tail}") == story, language


def test_a_read_more_label_closing_the_last_sentence_is_cut() -> None:
    text = "В Душанбе открылся новый офис миграционной службы. Подробнее: https://example.tj/a/1"
    assert clean_post_text(text) == "В Душанбе открылся новый офис миграционной службы."


def test_story_lines_that_start_like_a_label_stay() -> None:
    text = (
        "Migrants queued outside the new office on Monday.\n\n"
        "More than 300 people applied for work permits on the first day, officials said."
    )
    assert clean_post_text(text) == text
    assert clean_post_text("Подробности пока не сообщаются, сказал источник.\nМВД молчит.") == (
        "Подробности пока не сообщаются, сказал источник.\nМВД молчит."
    )


def test_hashtag_lines_go_and_hashtags_inside_a_sentence_stay() -> None:
    text = "Сегодня #МВД сообщило об открытии офиса.\n\n#новости #Таджикистан, #миграция"
    assert clean_post_text(text) == "Сегодня #МВД сообщило об открытии офиса."


def test_emoji_leave_but_symbols_that_are_text_stay() -> None:
    text = "🔴 Ночью до −3\u2009°C, днём до +4\u2009°C ☀️\n1️⃣ Москва → Душанбе: рейсы © Somon Air"
    assert clean_post_text(text) == (
        "Ночью до −3\u2009°C, днём до +4\u2009°C\n1 Москва → Душанбе: рейсы © Somon Air"
    )


@pytest.mark.parametrize(
    "signature",
    [
        "@asiaplus",
        "Подписывайтесь на наш канал",
        "Обуна шавед: t.me/ozodi",
        "ASIA-Plus",
        "Telegram | VK | Instagram",
        "https://t.me/asiaplus",
    ],
)
def test_signature_lines_close_no_story(signature: str) -> None:
    story = "Президент подписал закон о трудовой миграции.\nЗакон вступит в силу в январе."
    assert clean_post_text(f"{story}\n\n{signature}", channel_title="ASIA-Plus") == story


def test_a_last_line_repeated_under_several_posts_is_the_channels_signature() -> None:
    sign = "<br/><br/>Sputnik Таджикистан — главное за день"
    posts = _posts(
        "Нацбанк повысил ставку рефинансирования до 9 процентов." + sign,
        "В Хатлоне завершился сбор хлопка, сообщили в хукумате." + sign,
        "Рейсы в Москву задерживаются из-за тумана.<br/><br/>Аэропорт работает в штатном режиме.",
        title="Sputnik Таджикистан",
    )
    assert [p.content for p in posts] == [
        "Нацбанк повысил ставку рефинансирования до 9 процентов.",
        "В Хатлоне завершился сбор хлопка, сообщили в хукумате.",
        "Рейсы в Москву задерживаются из-за тумана.\n\nАэропорт работает в штатном режиме.",
    ]


def test_a_post_that_is_only_a_link_line_keeps_it() -> None:
    assert clean_post_text("Подробнее — на сайте") == "Подробнее — на сайте"


def test_links_are_outbound_article_links_once_each() -> None:
    preview = (
        f'<a class="tgme_widget_message_link_preview" href="{ARTICLE}">'
        '<div class="link_preview_title">Офис МВД</div></a>'
    )
    body = _page(
        "Главное за день:<br/>"
        f'<a href="{ARTICLE}">офис МВД</a>, '
        '<a href="https://www.ozodi.org/a/33012345.html">мнение экспертов</a>, '
        '<a href="https://t.me/asiaplus/99">вчерашний пост</a>, '
        '<a href="?q=%23news">#news</a>, <a href="javascript:alert(1)">x</a>, '
        '<a href="mailto:news@asiaplus.tj">почта</a>.'
    ).replace(
        b'</div><a class="tgme_widget_message_date"',
        preview.encode() + b'</div><a class="tgme_widget_message_date"',
        1,
    )
    post = parse_telegram_page(body, base_url="https://t.me/s/asiaplus").entries[0]
    assert isinstance(post, TelegramPost)
    assert post.links == [ARTICLE, "https://www.ozodi.org/a/33012345.html"]
