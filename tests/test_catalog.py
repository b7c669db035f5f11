"""The catalog's rules for sources and topics, and the YAML files going through them.

The same inputs through the CLI and the web app are in test_catalog_frontends.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.errors import ConfigError, QueryError, SourceError
from core.netguard import AddressPolicy
from db import queries
from db.models import SourceKind
from db.session import unit_of_work
from wirewatch import catalog
from wirewatch.bootstrap import load_sources, load_topics

PUBLIC_ONLY = AddressPolicy()


def _source(**overrides: object) -> catalog.SourceSpec:
    fields: dict[str, object] = {
        "name": "asia-wire",
        "url": "https://asia-wire.example/rss.xml",
        "default_interval": 30,
        "policy": PUBLIC_ONLY,
        **overrides,
    }
    return catalog.check_source(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["asia-wire", "TASS", "r.f_e-1", "x" * 100, " padded "])
def test_good_source_names(name: str) -> None:
    assert _source(name=name).name == name.strip()


@pytest.mark.parametrize(
    "name", ["", "-lead", "with space", "a/b", "tab\there", "x" * 101, "ünicode", "semi;colon"]
)
def test_bad_source_names_say_what_is_allowed(name: str) -> None:
    with pytest.raises(catalog.SourceNameError, match="letters, digits") as refused:
        _source(name=name)
    assert isinstance(refused.value, SourceError) and refused.value.field == "name"


@pytest.mark.parametrize("slug", ["police-liaison-migration", "t", "0day", "a" * 100])
def test_good_slugs(slug: str) -> None:
    assert catalog.check_topic(slug=slug, query="МВД").slug == slug


@pytest.mark.parametrize(
    "slug", ["", "Bad Slug With Spaces", "Upper", "-lead", "under_score", "a/b", "a" * 101, "a\n"]
)
def test_bad_slugs_say_what_is_allowed(slug: str) -> None:
    with pytest.raises(catalog.TopicSlugError, match="lowercase letters, digits or '-'"):
        catalog.check_topic(slug=slug, query="МВД")


def test_a_topic_is_named_by_its_slug_unless_named() -> None:
    assert catalog.check_topic(slug="t", query="a").name == "t"
    assert catalog.check_topic(slug="t", name="  Topic  ", query="a").name == "Topic"
    with pytest.raises(catalog.TopicNameError, match="needs a name"):
        catalog.check_topic(slug="t", name="   ", query="a")
    with pytest.raises(catalog.TopicNameError, match="at most 200"):
        catalog.check_topic(slug="t", name="n" * 201, query="a")
    with pytest.raises(catalog.TopicDefinitionError, match="at most 5000"):
        catalog.check_topic(slug="t", query="a", definition="d" * 5001)


def test_a_query_that_does_not_parse_names_the_topic_and_the_position() -> None:
    with pytest.raises(catalog.TopicQueryError) as refused:
        catalog.check_topic(slug="broken", query="(МВД OR")
    error = refused.value
    assert isinstance(error, QueryError) and error.position == 7
    assert "'broken'" in str(error) and "position 7" in str(error)
    with pytest.raises(catalog.TopicQueryError, match="empty"):
        catalog.check_topic(slug="t", query="  ")
    with pytest.raises(catalog.TopicQueryError, match="at most 10000"):
        catalog.check_topic(slug="t", query="a " * 5001)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "file: is not allowed"),
        ("javascript:alert(1)", "javascript: is not allowed"),
        ("https://", "no host"),
        ("http://10.0.0.1/rss.xml", "not a public address"),
        ("http://127.1/", "not a public address"),
        ("http://[::ffff:169.254.169.254]/", "not a public address"),
        ("", "needs a URL"),
        ("https://x.example/" + "a" * 2000, "at most 2000"),
    ],
)
def test_source_urls_pass_the_address_policy(url: str, reason: str) -> None:
    with pytest.raises(catalog.SourceURLError, match=reason):
        _source(url=url)


def test_allowed_private_hosts_and_unresolvable_names_are_accepted() -> None:
    allowed = AddressPolicy(["10.0.0.0/8"])
    assert _source(url="http://10.0.0.1/rss.xml", policy=allowed).url == "http://10.0.0.1/rss.xml"
    # Every fetch checks the address again; a name that does not resolve now is kept.
    assert _source(url=" https://nowhere.invalid/rss ").url == "https://nowhere.invalid/rss"
    # Without a policy (the operator's YAML file) only the scheme is checked.
    assert _source(url="http://10.0.0.1/", policy=None).url == "http://10.0.0.1/"


def test_telegram_sources_are_stored_as_their_preview_address() -> None:
    spec = _source(kind="telegram", url="@AsiaPlus")
    assert spec.kind == SourceKind.TELEGRAM and spec.url == "https://t.me/s/asiaplus"
    with pytest.raises(catalog.SourceURLError, match="public Telegram channel"):
        _source(kind=SourceKind.TELEGRAM, url="@no")


def test_kind_language_interval_and_homepage() -> None:
    spec = _source(language=" ru ", interval_minutes="15", homepage="https://a.example")
    assert (spec.language, spec.interval_minutes, spec.homepage) == ("ru", 15, "https://a.example")
    assert _source(language="", interval_minutes=None).language is None
    assert _source(interval_minutes=None).interval_minutes == 30
    assert _source(language="pt-BR").language == "pt-BR"
    with pytest.raises(catalog.SourceKindError, match="use feed or telegram"):
        _source(kind="rss")
    for bad in ("russian", "RU", "r", "ru_RU"):
        with pytest.raises(catalog.LanguageError, match="ru, tg, en"):
            _source(language=bad)
    for minutes in (0, -5, 7 * 24 * 60 + 1, "soon", True):
        with pytest.raises(catalog.IntervalError, match="from 1 to 10080"):
            _source(interval_minutes=minutes)
    with pytest.raises(catalog.HomepageError, match="javascript"):
        _source(homepage="javascript:alert(1)")


def test_nothing_is_looked_up_before_the_cheap_rules_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up: list[str] = []
    monkeypatch.setattr(catalog, "vet_host", lambda host, *a, **k: looked_up.append(host))
    with pytest.raises(catalog.SourceNameError):
        _source(name="bad name")
    assert looked_up == []
    _source()
    assert looked_up == ["asia-wire.example"]


def test_saving_and_switching_never_commits(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        catalog.save_source(session=session, spec=_source())
        catalog.save_topic(session=session, spec=catalog.check_topic(slug="t", query="МВД"))
        assert not catalog.set_source_enabled(
            session=session, name="asia-wire", enabled=False
        ).enabled
        assert not catalog.set_topic_enabled(session=session, slug="t", enabled=False).enabled
        session.rollback()
    with session_factory() as session:
        assert queries.list_sources(session=session) == []
        assert queries.list_topics(session=session) == []


def test_yaml_files_follow_the_same_rules(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n"
        "  - {name: wire, url: 'https://wire.example/rss', language: en, interval: 15}\n"
        "  - {name: tg, kind: telegram, url: '@asiaplus'}\n",
        encoding="utf-8",
    )
    topics = tmp_path / "topics.yaml"
    topics.write_text("topics:\n  - {slug: t, name: T, query: МВД}\n", encoding="utf-8")
    with unit_of_work(session_factory) as session:
        assert load_sources(session, sources).created == 2
        assert load_topics(session, topics).created == 1
        tg = queries.get_source(session=session, name="tg")
        assert tg.url == "https://t.me/s/asiaplus" and tg.interval_minutes == 30

    cases = {
        "name: a/b, url: 'https://a.example/'": "source 1 (a/b): source name 'a/b'",
        "name: a, url: 'file:///etc/passwd'": "source 1 (a): refusing 'file:///etc/passwd'",
        "name: a, url: 'https://a.example/', kind: rss": "source kind 'rss' is unknown",
        "name: a, url: 'https://a.example/', interval: 0": "crawl interval 0",
        "name: a": "source 1 lacks 'url'",
    }
    for entry, message in cases.items():
        sources.write_text(f"sources:\n  - {{{entry}}}\n", encoding="utf-8")
        with session_factory() as session, pytest.raises(ConfigError, match=re.escape(message)):
            load_sources(session, sources)
    for entry, message in {
        "slug: Bad Slug With Spaces, name: B, query: a": "topic slug 'Bad Slug With Spaces'",
        "slug: b, name: B, query: '(a'": "topic 'b' not saved: its query does not parse",
        "slug: b, name: B": "topic 1 lacks 'query'",
    }.items():
        topics.write_text(f"topics:\n  - {{{entry}}}\n", encoding="utf-8")
        with session_factory() as session, pytest.raises(ConfigError, match=re.escape(message)):
            load_topics(session, topics)
