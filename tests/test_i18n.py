"""The interface in Russian and English: catalogues, choosing the language, pages and emails.

Pages and digests are rendered for real (the app in-process, digests through
the digest run, confirmations through the subscribe form, the CLI and the
JSON API) on SQLite and PostgreSQL, and read back for translated text and for
dates and numbers in the language's own form.
"""

from __future__ import annotations

import email
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import get_args

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from alerts.digest import send_due_digests
from alerts.senders import MockSender
from alerts.tokens import Tokens
from cli import _register_commands, app
from cli.common import reset_context
from cli.context import AppContext
from core import i18n
from core.settings import Settings
from db import queries
from db.models import Frequency, Story, Subscriber
from db.session import unit_of_work
from tests.conftest import ROOT
from tests.test_digest_fixtures import NOW, TOKENS, match, story, subscribe, topic
from web import schemas
from web.app import create_app
from web.locale import LOCALE_COOKIE

PUBLISHED = datetime(2026, 11, 28, 6, 5, tzinfo=UTC)
NBSP = "\u00a0"  # Russian groups thousands with a no-break space
NNBSP = "\u202f"  # and keeps "г." (the year) with its number by a narrow one
runner = CliRunner()
_register_commands()


def _catalog(code: str):  # type: ignore[no-untyped-def]
    path = i18n.LOCALES_DIR / code / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        return read_po(po, locale=code)


def _key(message_id: str | tuple[str, ...] | list[str]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


# -- the catalogues ---------------------------------------------------------------------------


def test_every_russian_message_is_translated_in_every_plural_form() -> None:
    catalog = _catalog("ru")
    assert catalog.num_plurals == 3
    untranslated = []
    for message in catalog:
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(form.strip() for form in forms):
            untranslated.append(_key(message.id))
        if message.pluralizable:
            assert len(forms) == 3, message.id
    assert not untranslated, f"untranslated in ru: {untranslated}"
    assert len([m for m in catalog if m.id]) > 250


@pytest.mark.parametrize("code", i18n.LOCALES)
def test_translations_keep_the_placeholders_and_the_markup(code: str) -> None:
    """A dropped %(name)s would fail at render time; a lost tag would break a link."""
    placeholder, tag = re.compile(r"%\(\w+\)s"), re.compile(r"</?[a-z]+")
    for message in _catalog(code):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in (f for f in forms if f):
            assert set(placeholder.findall(form)) == set(placeholder.findall(ids[-1])), form
            assert sorted(tag.findall(form)) == sorted(tag.findall(ids[0])), form


def test_the_catalogues_are_up_to_date_with_the_sources(tmp_path: Path) -> None:
    """What `make messages` would extract is exactly what each catalogue holds."""
    template = tmp_path / "messages.pot"
    CommandLineInterface().run(  # type: ignore[no-untyped-call]
        [
            *("pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "--no-location"),
            *("-o", str(template), str(ROOT)),
        ]
    )
    with template.open("rb") as pot:
        extracted = {message.id for message in read_po(pot) if message.id}
    assert len(extracted) > 250
    for code in i18n.LOCALES:
        held = {message.id for message in _catalog(code) if message.id}
        assert held == extracted, (
            f"{code}: run `make messages` and translate; "
            f"missing {sorted(map(_key, extracted - held))[:10]}, "
            f"stale {sorted(map(_key, held - extracted))[:10]}"
        )


def test_the_api_offers_the_interface_languages() -> None:
    assert set(get_args(schemas.Locale)) == set(i18n.LOCALES)


# -- choosing a language, formatting for it -------------------------------------------------


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
        ("en-GB,en;q=0.9,ru;q=0.8", "en"),
        ("de-DE,de;q=0.9,ru;q=0.5,en;q=0.4", "ru"),  # the best one we have
        ("en;q=0.2, ru;q=0.8", "ru"),  # weights, not order
        ("ru;q=0, en;q=0.1", "en"),  # q=0 means "not this one"
        ("de, fr", "de?"),  # nothing we have: the default
        ("", "de?"),
        ("*", "de?"),
    ],
)
def test_accept_language_negotiation(header: str, chosen: str) -> None:
    assert i18n.negotiate(header, "de?") == chosen


def test_dates_and_numbers_in_each_language() -> None:
    assert i18n.format_datetime(PUBLISHED, "en") == "28 Nov 2026, 06:05 UTC"
    assert i18n.format_datetime(PUBLISHED, "ru") == f"28 нояб. 2026{NNBSP}г., 06:05 UTC"
    assert i18n.format_number(12345.6, "en", decimals=1) == "12,345.6"
    assert i18n.format_number(12345.6, "ru", decimals=1) == f"12{NBSP}345,6"
    assert i18n.language_name("tg", "en") == "Tajik"
    assert i18n.language_name("tg", "ru") == "таджикский"
    assert i18n.weekday_names("ru")[4] == "пятница"
    with pytest.raises(i18n.UnknownLocaleError, match="not one of ru, en"):
        i18n.checked("de")


# -- the web app ------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        base_url="http://testserver",
        secret_key="i18n-test-key-0123456789abcdef",  # type: ignore[arg-type]
    )


@pytest.fixture
def story_id(session_factory: sessionmaker[Session]) -> int:
    with unit_of_work(session_factory) as session:
        topic(session)
        found = story(session, 1, "МВД открывает представительство", published=PUBLISHED)
        # Four stories this week: the sources page shows 4/7 = 0.6 stories a day.
        for n in range(2, 6):
            moment = datetime.now(UTC) - timedelta(hours=n)
            row = session.get(Story, story(session, n, f"Заметка {n}", published=moment))
            assert row is not None
            row.fetched_at = moment
    match(session_factory)
    return found


@pytest.fixture
def client(settings: Settings, story_id: int) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _get(client: TestClient, path: str, language: str) -> str:
    page = client.get(path, headers={"Accept-Language": language})
    assert page.status_code == 200, page.text
    assert f'<html lang="{language[:2]}">' in page.text
    assert page.headers["content-language"] == language[:2]
    assert "Accept-Language" in page.headers["vary"]
    return page.text


def test_pages_in_english(client: TestClient, story_id: int) -> None:
    latest = _get(client, "/", "en")
    assert "Latest stories" in latest and "28 Nov 2026, 06:05 UTC" in latest
    search = _get(client, "/?q=представительство", "en")
    assert "Search results" in search and "5 result(s)" in search
    assert "Stories per day" in search  # the chart's title
    page = _get(client, f"/stories/{story_id}", "en")
    assert "МВД открывает представительство" in page and "28 Nov 2026, 06:05 UTC" in page
    assert ">Topic <a" in page
    form = _get(client, "/subscribe", "en")
    assert "Get a digest by email" in form and ">Friday<" in form
    assert '<option value="en" lang="en" selected>English</option>' in form
    topics = _get(client, "/topics", "en")
    assert "<h1>Topics</h1>" in topics and ">yes<" in topics
    topic_page = _get(client, "/topics/mvd", "en")
    assert "5 matching stories" in topic_page and "28 Nov 2026, 06:05 UTC" in topic_page
    sources = _get(client, "/sources", "en")
    assert (
        "<h1>Sources</h1>" in sources and "<td>0.6</td>" in sources and "<td>never</td>" in sources
    )


def test_pages_in_russian(client: TestClient, story_id: int) -> None:
    latest = _get(client, "/", "ru-RU,ru;q=0.9,en;q=0.5")
    assert "Последние материалы" in latest and ">Материалы</a>" in latest
    assert f"28 нояб. 2026{NNBSP}г., 06:05 UTC" in latest
    assert "Latest stories" not in latest
    search = _get(client, "/?q=представительство", "ru")
    assert "Результаты поиска" in search and "найдено: 5" in search
    assert "Материалов в день" in search
    page = _get(client, f"/stories/{story_id}", "ru")
    assert "МВД открывает представительство" in page  # the story as published
    assert f"28 нояб. 2026{NNBSP}г., 06:05 UTC" in page and ">Тема <a" in page
    form = _get(client, "/subscribe", "ru")
    assert "Получать сводку по почте" in form and "Часовой пояс" in form
    assert ">пятница<" in form  # the weekday names come from the locale data
    assert '<option value="ru" lang="ru" selected>Русский</option>' in form
    topics = _get(client, "/topics", "ru")
    assert "<h1>Темы</h1>" in topics and ">да<" in topics and "подписаться" in topics
    topic_page = _get(client, "/topics/mvd", "ru")
    assert "5 подходящих материалов" in topic_page
    assert "MVD offices" in topic_page  # a topic's name is content, not interface
    sources = _get(client, "/sources", "ru")
    assert "<h1>Источники</h1>" in sources and "<td>0,6</td>" in sources
    assert "<td>никогда</td>" in sources
    missing = client.get(
        "/stories/999999", headers={"Accept-Language": "ru", "Accept": "text/html"}
    )
    assert missing.status_code == 404 and "Не найдено" in missing.text


def test_russian_has_three_plural_forms() -> None:
    ru = i18n.translations("ru")
    forms = {n: ru.ngettext("%(num)s report", "%(num)s reports", n) for n in (1, 2, 5, 11, 21)}
    assert forms == {
        1: "%(num)s сообщение",
        2: "%(num)s сообщения",
        5: "%(num)s сообщений",
        11: "%(num)s сообщений",
        21: "%(num)s сообщение",
    }


def test_the_language_links_win_over_the_browser_and_stay_chosen(client: TestClient) -> None:
    chosen = client.get("/locale/ru", params={"next": "/topics?x=1"}, follow_redirects=False)
    assert chosen.status_code == 303 and chosen.headers["location"] == "/topics?x=1"
    assert client.cookies.get(LOCALE_COOKIE) == "ru"
    page = client.get("/topics", headers={"Accept-Language": "en"})
    assert '<html lang="ru">' in page.text and "<h1>Темы</h1>" in page.text
    # Every page links to the other language and back to itself.
    assert 'href="/locale/en?next=/topics"' in page.text
    client.get("/locale/en", follow_redirects=False)
    assert "<h1>Topics</h1>" in client.get("/topics", headers={"Accept-Language": "ru"}).text


def test_the_language_link_goes_back_only_to_this_site(client: TestClient) -> None:
    for target in ("//evil.example/", "https://evil.example/", "javascript:alert(1)"):
        answer = client.get("/locale/ru", params={"next": target}, follow_redirects=False)
        assert answer.headers["location"] == "/"
    unknown = client.get("/locale/xx", follow_redirects=False)
    assert unknown.status_code == 303 and LOCALE_COOKIE not in unknown.headers.get("set-cookie", "")


def test_no_preference_gets_the_default_locale_setting(
    tmp_path: Path, database_url: str, story_id: int
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url, default_locale="ru")
    with TestClient(create_app(settings)) as russian_first:
        assert "<h1>Темы</h1>" in russian_first.get("/topics").text
        assert (
            "<h1>Темы</h1>" in russian_first.get("/topics", headers={"Accept-Language": "de"}).text
        )
        asked = russian_first.get("/topics", headers={"Accept-Language": "en-US"})
        assert "<h1>Topics</h1>" in asked.text


# -- emails -----------------------------------------------------------------------------------


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def _html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def _outbox(settings: Settings) -> list[EmailMessage]:
    assert settings.outbox_dir is not None
    found = []
    for path in sorted(settings.outbox_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def _digest(
    factory: sessionmaker[Session], settings: Settings, locale: str | None
) -> tuple[str, str, str]:
    with unit_of_work(factory) as session:
        sub = subscribe(session, "reader@newsroom.example", timezone="Asia/Dushanbe")
        sub.subscriber.locale = locale
        story(
            session,
            1,
            "Открыто представительство МВД",
            body="В Москве открылось представительство. Представительства МВД работают давно.",
            published=PUBLISHED,
        )
    match(factory)
    sender = MockSender()
    send_due_digests(factory, settings, sender, now=NOW, sleep=lambda _: None, tokens=TOKENS)
    [message] = sender.sent
    assert message.html is not None
    return message.subject, message.text, message.html


def test_a_digest_in_english(session_factory: sessionmaker[Session], settings: Settings) -> None:
    subject, text, html = _digest(session_factory, settings, "en")
    assert subject == "1 new story: MVD offices"
    assert "herald · Russian · 28 Nov 2026, 11:05 +05" in text  # Dushanbe local time
    assert "Why it matched:" in text and "Unsubscribe:" in text
    assert '<html lang="en">' in html and "instant digest" in html and ">Unsubscribe</a>" in html


def test_a_digest_in_russian(session_factory: sessionmaker[Session], settings: Settings) -> None:
    subject, text, html = _digest(session_factory, settings, "ru")
    assert subject == "1 новый материал: MVD offices"
    assert f"herald · русский · 28 нояб. 2026{NNBSP}г., 11:05 +05" in text
    assert "Открыто представительство МВД" in text  # the story as published
    assert "Почему подошёл:" in text and "Отписаться:" in text and "Архив:" in text
    assert "Вы получаете эту сводку (сразу), потому что подписались на «MVD offices»." in text
    assert '<html lang="ru">' in html and ">Отписаться</a>" in html and "В архиве" in html
    assert "Unsubscribe" not in text and "Why it matched" not in html


def test_a_subscriber_who_never_chose_gets_the_default_locale(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    russian_first = settings.model_copy(update={"default_locale": "ru"})
    subject, _, _ = _digest(session_factory, russian_first, None)
    assert subject == "1 новый материал: MVD offices"


def _stored_locale(factory: sessionmaker[Session], address: str) -> str | None:
    with factory() as session:
        subscriber = queries.get_subscriber(session=session, email=address)
        assert isinstance(subscriber, Subscriber)
        return subscriber.locale


def test_the_web_form_language_carries_through_to_the_digest(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Subscribe on the Russian page, confirm, get a Russian digest (SQLite and PostgreSQL)."""
    address = "desk@newsroom.example"
    with unit_of_work(session_factory) as session:
        topic(session)
    russian = {"Accept-Language": "ru-RU,ru;q=0.9"}
    with TestClient(create_app(settings)) as client:
        page = client.get("/subscribe", headers=russian)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        selected = re.search(r'<option value="(\w+)" lang="\w+" selected>', page.text)
        assert selected and selected.group(1) == "ru"  # the form starts in the page's language
        form = {
            "csrf": csrf.group(1),
            "email": address,
            "topics": ["mvd"],
            "frequency": "instant",
            "timezone": "Asia/Dushanbe",
            "locale": selected.group(1),
        }
        done = client.post("/subscribe", data=form, headers=russian)
        assert done.status_code == 200 and "Проверьте почту" in done.text
        [confirmation] = _outbox(settings)
        assert confirmation["Subject"] == "Подтвердите подписку: MVD offices"
        body = _text(confirmation)
        assert "Доставка: сразу, как найдутся материалы (пачками)." in body
        assert "Ссылка действует 7 дней." in body
        assert '<html lang="ru">' in _html(confirmation)
        link = re.search(r"http://testserver(/confirm/\S+)", body)
        assert link
        confirmed = client.post(link.group(1), headers=russian)
        assert confirmed.status_code == 200 and "Подписка оформлена" in confirmed.text
    assert _stored_locale(session_factory, address) == "ru"
    with unit_of_work(session_factory) as session:
        for sub in queries.subscriptions_of(session=session, email=address):
            sub.created_at = sub.confirmed_at = NOW - timedelta(hours=2)
        story(session, 1, "МВД открывает представительство", published=PUBLISHED)
    match(session_factory)
    sender = MockSender()
    send_due_digests(
        session_factory, settings, sender, now=NOW, sleep=lambda _: None, tokens=TOKENS
    )
    [digest] = sender.sent
    assert digest.to == address and digest.subject == "1 новый материал: MVD offices"
    assert f"28 нояб. 2026{NNBSP}г., 11:05 +05" in digest.text


def test_the_preferences_page_changes_the_language(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(session_factory) as session:
        sub = subscribe(session, "reader@newsroom.example")
        secret = sub.subscriber.token
    assert secret
    path = f"/preferences/{Tokens.from_settings(settings).preferences(secret)}"
    with TestClient(create_app(settings)) as client:
        page = client.get(path, headers={"Accept-Language": "en"})
        assert '<option value="en" lang="en" selected>English</option>' in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        form = {"csrf": csrf.group(1), "timezone": "UTC", "locale": "ru", "active": "mvd"}
        saved = client.post(path, data=form, headers={"Accept-Language": "en"})
        assert saved.status_code == 200 and "Saved." in saved.text
        assert '<option value="ru" lang="ru" selected>Русский</option>' in saved.text
    assert _stored_locale(session_factory, "reader@newsroom.example") == "ru"


@pytest.fixture
def cli_settings(tmp_path: Path, database_url: str, session_factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, database_url=database_url, base_url="https://ww.example")
    with unit_of_work(session_factory) as session:
        topic(session)
    from rich.console import Console

    console, err = Console(width=200, soft_wrap=True), Console(stderr=True, width=200)
    reset_context(AppContext(settings=settings, console=console, err=err))
    yield settings
    reset_context(None)


def test_cli_subscribe_locale_round_trips_to_the_list_and_the_confirmation(
    cli_settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    result = runner.invoke(app, ["subscribe", "ru@newsroom.example", "-t", "mvd", "--locale", "ru"])
    assert result.exit_code == 0, result.output
    [confirmation] = _outbox(cli_settings)
    assert confirmation["Subject"] == "Подтвердите подписку: MVD offices"
    assert "ежедневно в 08:00 (UTC)" in _text(confirmation)
    assert _stored_locale(session_factory, "ru@newsroom.example") == "ru"
    plain = runner.invoke(app, ["subscribe", "en@newsroom.example", "-t", "mvd", "--confirmed"])
    assert plain.exit_code == 0, plain.output
    listed = runner.invoke(app, ["subscriptions", "list", "--format", "json"])
    rows = {row["email"]: row["locale"] for row in json.loads(listed.output)}
    assert rows == {"ru@newsroom.example": "ru", "en@newsroom.example": "en"}  # en: the default
    table = runner.invoke(app, ["subscriptions", "list", "--email", "ru@newsroom.example"])
    assert "; in ru" in table.output
    wrong = runner.invoke(app, ["subscribe", "x@newsroom.example", "-t", "mvd", "--locale", "de"])
    assert wrong.exit_code != 0


def test_api_subscribe_takes_a_locale_or_the_accept_language(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(session_factory) as session:
        topic(session)
    with TestClient(create_app(settings)) as client:
        asked = client.post(
            "/api/subscriptions",
            json={"email": "api-ru@newsroom.example", "topics": ["mvd"], "locale": "ru"},
        )
        assert asked.status_code == 202, asked.text
        by_header = client.post(
            "/api/subscriptions",
            json={"email": "api-header@newsroom.example", "topics": ["mvd"]},
            headers={"Accept-Language": "ru"},
        )
        assert by_header.status_code == 202
        refused = client.post(
            "/api/subscriptions",
            json={"email": "api-de@newsroom.example", "topics": ["mvd"], "locale": "de"},
        )
        assert refused.status_code == 422
    assert _stored_locale(session_factory, "api-ru@newsroom.example") == "ru"
    assert _stored_locale(session_factory, "api-header@newsroom.example") == "ru"
    subjects = {m["To"]: m["Subject"] for m in _outbox(settings)}
    assert subjects["api-ru@newsroom.example"] == "Подтвердите подписку: MVD offices"


def test_existing_subscribers_keep_null_and_a_request_never_changes_a_confirmed_one(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Rows from before languages existed read as the default; asking again changes nothing."""
    with unit_of_work(session_factory) as session:
        subscribe(session, "known@newsroom.example", Frequency.DAILY)
    assert _stored_locale(session_factory, "known@newsroom.example") is None
    with TestClient(create_app(settings)) as client:
        client.post(
            "/api/subscriptions",
            json={"email": "known@newsroom.example", "topics": ["mvd"], "locale": "ru"},
        )
    assert _stored_locale(session_factory, "known@newsroom.example") is None
    [notice] = _outbox(settings)
    assert notice["Subject"] == "You are already subscribed"  # the subscriber's language


# -- messages built outside the templates: errors, "why it matched", states, charts --------


def test_a_query_syntax_error_reads_in_the_page_language(client: TestClient) -> None:
    russian = _get(client, "/?q=(мвд", "ru")
    assert (
        "ожидалась «)», закрывающая «(» на позиции 0, а найдено: конец запроса (позиция 4)"
        in russian
    )
    assert "expected" not in russian and "position" not in russian
    english = _get(client, "/?q=(мвд", "en")
    assert (
        "expected &#39;)&#39; to close &#39;(&#39; at position 0, found the end of the query at position 4"
        in english
    )
    unknown = _get(client, "/?q=@nobody", "ru")
    assert "неизвестная сущность «@nobody» (позиция 0)" in unknown


def test_a_broken_link_reads_in_the_page_language(client: TestClient) -> None:
    page = client.get("/preferences/not-a-token", headers={"Accept-Language": "ru"})
    assert page.status_code == 404
    assert "ссылка на настройки недействительна (она скопирована целиком?)" in page.text
    english = client.get("/preferences/not-a-token", headers={"Accept-Language": "en"})
    assert "this preferences link is not valid (was it copied completely?)" in english.text


def test_why_it_matched_labels_follow_the_digest_language(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    _, text, html = _digest(session_factory, settings, "ru")
    assert "заголовок: Открыто “представительство МВД”" in text  # the story's words as they are
    assert "заголовок: Открыто “представительство МВД”" in html
    assert "headline:" not in text and "headline:" not in html


def test_why_it_matched_labels_stay_english_in_english(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    _, text, _ = _digest(session_factory, settings, "en")
    assert "Why it matched: headline: Открыто “представительство МВД”" in text


def test_the_sources_page_states_and_chart_in_russian(client: TestClient) -> None:
    page = _get(client, "/sources", "ru")
    assert '<tr class="source status-new"' in page  # the CSS class keeps the stored word
    assert '<td class="status">новый</td>' in page
    assert "<title>Источники: материалов в день и состояние</title>" in page
    assert ">ещё не опрашивался</text>" in page  # the chart's legend
    assert "never crawled" not in page and "stories per day" not in page
    english = _get(client, "/sources", "en")
    assert '<td class="status">new</td>' in english
    assert "<title>Sources: stories per day and health</title>" in english


def test_chart_summaries_in_russian(client: TestClient) -> None:
    search = _get(client, "/?q=представительство", "ru")
    assert re.search(
        r'aria-label="Материалов в день: всего 5 с [\d-]+ по [\d-]+; больше всего', search
    )
    english = _get(client, "/?q=представительство", "en")
    assert re.search(r'aria-label="Stories per day: 5 from [\d-]+ to [\d-]+; most on', english)


def test_query_errors_keep_english_for_the_command_line() -> None:
    from core.errors import QueryError
    from core.query import parse

    with pytest.raises(QueryError) as caught:
        parse("(мвд")
    assert str(caught.value).startswith(
        "expected ')' to close '(' at position 0, found the end of the query at position 4"
    )
    assert caught.value.localized(i18n.translations("ru")).startswith("ожидалась «)»")
