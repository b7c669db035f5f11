"""The `wirewatch` command as a user runs it: help everywhere, clear errors, real effects."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.core
import typer.main
from typer.testing import CliRunner

from cli import _register_commands, app
from cli.common import reset_context
from cli.context import AppContext
from cli.reference import walk
from core.settings import Settings

runner = CliRunner()
_register_commands()


# Every command and group, by the words that name it ("" is `wirewatch` itself).
COMMANDS = {" ".join(path): command for path, command in walk(typer.main.get_command(app), [])}


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Iterator[Settings]:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    reset_context(AppContext(settings=settings))
    yield settings
    reset_context(None)


def test_every_subcommand_is_reached() -> None:
    """Typer's groups are not ``click.Group``s: a walk that asks that sees only the root."""
    assert {"stories", "stories delete", "digest resend", "topics preview"} <= set(COMMANDS)


def test_command_table_names_each_commands_module() -> None:
    """`wirewatch NAME` imports only NAME's module: the table must say which one it is."""
    from cli import commands

    found: dict[str, str] = {}
    for module in commands.MODULES:
        one = typer.Typer()
        importlib.import_module(module).register(one)
        names = [c.name or c.callback.__name__ for c in one.registered_commands]  # type: ignore[union-attr]
        names += [g.name or "" for g in one.registered_groups]
        found.update(dict.fromkeys(names, module))
    assert found == commands.COMMANDS


@pytest.mark.parametrize("command", ["crawl", "search", "stories", "match", "crawll", None])
def test_one_command_registered_alone_still_parses(command: str | None) -> None:
    """A lone command module must not turn the app into that bare command."""
    from cli import commands

    one = typer.Typer(name="wirewatch")
    commands.register(one, command)
    group = typer.main.get_command(one)
    assert isinstance(group, typer.core.TyperGroup)
    if command in commands.COMMANDS:
        assert command in group.commands


@pytest.mark.parametrize("name", list(COMMANDS), ids=lambda name: name or "wirewatch")
def test_every_command_has_help(name: str) -> None:
    command = COMMANDS[name]
    result = runner.invoke(app, [*name.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    assert command.help, f"`wirewatch {name}` has no help text (its docstring or help=)"
    unexplained = [p.name for p in command.params if not getattr(p, "help", None)]
    assert not unexplained, f"`wirewatch {name}`: no help for {unexplained}"


def test_init_loads_topics_and_sources(cli: Settings) -> None:
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert "outbox" in result.output  # says where mail goes
    listed = runner.invoke(app, ["topics", "list"])
    assert "police-liaison-migration" in listed.output
    sources = runner.invoke(app, ["sources", "list"])
    assert "tass" in sources.output


def test_sources_add_disable_and_refuse_bad_urls(cli: Settings) -> None:
    ok = runner.invoke(
        app,
        [
            "sources",
            "add",
            "herald",
            "https://herald.example/rss.xml",
            "--lang",
            "ru",
            "--no-check",
        ],
    )
    assert ok.exit_code == 0, ok.output
    off = runner.invoke(app, ["sources", "disable", "herald"])
    assert off.exit_code == 0 and "disabled" in off.output
    bad = runner.invoke(app, ["sources", "add", "local", "file:///etc/passwd"])
    assert bad.exit_code == 1
    assert "file" in bad.output
    for internal in (
        "http://10.0.0.1/feed.xml",
        "http://127.1/",
        "http://[::ffff:169.254.169.254]/",
    ):
        refused = runner.invoke(app, ["sources", "add", "internal", internal])
        assert refused.exit_code == 1, internal
        assert "not a public" in refused.output.replace("\n", " ")
    listed = runner.invoke(app, ["sources", "list"])
    assert "internal" not in listed.output
    missing = runner.invoke(app, ["sources", "disable", "nope"])
    assert missing.exit_code == 1 and "no source named 'nope'" in missing.output


def test_topic_with_a_broken_query_is_refused_with_position(cli: Settings) -> None:
    result = runner.invoke(app, ["topics", "add", "broken", "--query", "(МВД OR"])
    assert result.exit_code == 1
    assert "position" in result.output
    assert "broken" in result.output


def test_subscribe_checks_address_topic_and_zone(cli: Settings) -> None:
    runner.invoke(app, ["init", "--no-sources"])
    bad = runner.invoke(app, ["subscribe", "not-an-address", "--topic", "police-liaison-migration"])
    assert bad.exit_code != 0 and "not a valid email" in bad.output
    no_topic = runner.invoke(app, ["subscribe", "a@b.example", "--topic", "nope"])
    assert no_topic.exit_code == 1 and "no topic" in no_topic.output
    zone = runner.invoke(
        app,
        [
            "subscribe",
            "a@b.example",
            "--topic",
            "police-liaison-migration",
            "--timezone",
            "Mars/Base",
        ],
    )
    assert zone.exit_code == 1 and "time zone" in zone.output
    for name in ("A" * 300, "../../etc/passwd"):  # too long for a file name; a path
        odd = runner.invoke(
            app,
            ["subscribe", "a@b.example", "--topic", "police-liaison-migration", "--timezone", name],
        )
        assert odd.exit_code == 1 and "time zone" in odd.output, odd.output
    ok = runner.invoke(
        app,
        ["subscribe", "A@B.example", "--topic", "police-liaison-migration", "--every", "weekly"],
    )
    assert ok.exit_code == 0 and "a@b.example" in ok.output
    gone = runner.invoke(app, ["unsubscribe", "a@b.example"])
    assert gone.exit_code == 0
    again = runner.invoke(app, ["unsubscribe", "a@b.example"])
    assert again.exit_code == 1


def test_search_formats(cli: Settings) -> None:
    runner.invoke(app, ["init", "--no-sources"])
    empty = runner.invoke(app, ["search", "МВД", "--format", "json"])
    assert empty.exit_code == 0 and empty.output == ""
    csv_out = runner.invoke(app, ["search", "МВД", "--format", "csv"])
    assert csv_out.output.splitlines()[0].startswith("id,published,source")
    bad = runner.invoke(app, ["search", "МВД AND"])
    assert bad.exit_code == 1 and "position" in bad.output
    since = runner.invoke(app, ["search", "x", "--since", "yesterday"])
    assert since.exit_code == 2


@pytest.mark.parametrize(
    "option",
    [
        ["--since", "99999999d"],
        ["--since", "99999999999999999999w"],
        ["--until", "9999999999h"],
        ["--since", "9999-12-31"],
        ["--until", "0001-01-01T00:00:00+14:00"],
        ["--since", "1899-12-31"],
        ["--since", "\u00b2d"],
    ],
)
def test_search_dates_out_of_range_are_usage_errors(cli: Settings, option: list[str]) -> None:
    """Spans and dates beyond what a date can hold are a clear usage error, not a traceback."""
    runner.invoke(app, ["init", "--no-sources"])
    result = runner.invoke(app, ["search", "x", *option])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert option[0] in result.output


def test_search_dates_in_range_are_accepted(cli: Settings) -> None:
    runner.invoke(app, ["init", "--no-sources"])
    for since in ("7d", "12H", "2026-11-01", "1900-01-01", "2999-12-31T23:00"):
        result = runner.invoke(app, ["search", "x", "--since", since, "--format", "json"])
        assert result.exit_code == 0, (since, result.output)


def test_config_show_masks_secrets(cli: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    reset_context(AppContext(settings=Settings(sendgrid_api_key="SG.very-secret")))  # type: ignore[arg-type]
    result = runner.invoke(app, ["config", "show", "--json"])
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert shown["sendgrid_api_key"] == "********"
    assert "very-secret" not in result.output


def test_config_show_warns_of_the_localhost_from_address(cli: Settings) -> None:
    reset_context(AppContext(settings=Settings()))
    shown = runner.invoke(app, ["config", "show"])
    assert shown.exit_code == 0
    assert "alerts@wirewatch.localhost" in shown.stderr and "WIREWATCH_MAIL_FROM" in shown.stderr
    own = Settings(mail_from="Newsroom alerts <alerts@newsroom.example>")
    reset_context(AppContext(settings=own))
    assert "warning" not in runner.invoke(app, ["config", "show"]).stderr


def test_topics_preview_counts_days_languages_and_samples(cli: Settings) -> None:
    from datetime import UTC, datetime, timedelta

    from db import queries
    from db.session import make_engine, make_sessionmaker, unit_of_work
    from tests.factories import story_record
    from wirewatch.topic_preview import preview_query

    runner.invoke(app, ["init", "--no-sources"])
    engine = make_engine(cli.database_url)
    factory = make_sessionmaker(engine)
    now = datetime.now(UTC)
    titles = [
        ("ru", "МВД Таджикистана откроет представительство в Москве", 1),
        ("en", "Tajik interior ministry to open an office in Moscow", 2),
        ("ru", "В Душанбе прошёл футбольный матч", 2),
        ("ru", "МВД Таджикистана: представительство в Москве заработало", 200),
    ]
    with unit_of_work(factory) as session:
        for n, (lang, title, age) in enumerate(titles):
            queries.insert_story_if_new(
                session=session,
                record=story_record(
                    n,
                    f"https://x.example/{n}",
                    title=title,
                    body=title,
                    language=lang,
                    published_at=now - timedelta(days=age),
                    fetched_at=now,
                ),
            )
    with factory() as session:
        report = preview_query(
            session, "(представительство OR office) AND (Москва OR Moscow)", days=90
        )
    engine.dispose()
    assert report.scanned == 3  # the 200-day-old story is outside the window
    assert report.matched == 2
    assert report.per_language == {"ru": 1, "en": 1}
    assert sum(report.per_day.values()) == 2
    assert all(s.why for s in report.sample)
    # the reasons quote the stories' own words, never the query
    lines = [line for s in report.sample for line in s.why]
    assert all("“" in line and " OR " not in line and "≈" not in line for line in lines)
    shown = runner.invoke(app, ["topics", "preview", "police-liaison-migration", "--days", "30"])
    assert shown.exit_code == 0, shown.output
    assert "stories from the last 30 days match" in shown.output
    bad = runner.invoke(app, ["topics", "preview", "(МВД"])
    assert bad.exit_code == 1 and "position" in bad.output


def test_match_prints_the_ids_a_topic_matches(cli: Settings, tmp_path: Path) -> None:
    """Works on a fresh archive (the topic comes from the topics file) and agrees with the labels."""
    labelled = Path(__file__).parent / "data" / "topic_police_liaison.jsonl"
    rows = [
        json.loads(line)
        for line in labelled.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    result = runner.invoke(app, ["match", "--topic", "police-liaison-migration", str(labelled)])
    assert result.exit_code == 0, result.output
    printed = result.output.split()
    on_beat = {str(r["id"]) for r in rows if r["label"]}
    assert set(printed) <= {str(r["id"]) for r in rows}
    true_positives = len(set(printed) & on_beat)
    assert true_positives / len(printed) >= 0.95 and true_positives / len(on_beat) >= 0.9
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": 1, "title": "x"}\nnot json\n', encoding="utf-8")
    bad = runner.invoke(app, ["match", "--query", "x", str(broken)])
    assert bad.exit_code == 1 and ":2:" in bad.output
    both = runner.invoke(app, ["match", "--query", "x", "--topic", "y", str(broken)])
    assert both.exit_code == 1 and "exactly one" in both.output


@pytest.mark.parametrize(
    "args", [["search", "МВД"], ["sources", "list"], ["stories", "show", "1"], ["digest", "status"]]
)
def test_commands_that_only_read_never_create_or_migrate_a_database(
    tmp_path: Path, args: list[str]
) -> None:
    database = tmp_path / "never-initialised.db"
    reset_context(
        AppContext(settings=Settings(data_dir=tmp_path, database_url=f"sqlite:///{database}"))
    )
    try:
        result = runner.invoke(app, args)
    finally:
        reset_context(None)
    assert result.exit_code == 1, result.output
    assert "is not initialised: run `wirewatch init` first" in " ".join(result.output.split())
    from sqlalchemy import create_engine, inspect

    engine = create_engine(f"sqlite:///{database}")
    assert "stories" not in inspect(engine).get_table_names()
    engine.dispose()


def test_an_out_of_date_database_is_named_with_its_revision(cli: Settings) -> None:
    from db.migrate import downgrade

    downgrade(cli.database_url, "0005")
    result = runner.invoke(app, ["sources", "list"])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert "is at schema revision 0005, this version needs" in said and "wirewatch init" in said
