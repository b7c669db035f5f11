"""Sources and topics: list, add, disable, show."""

from __future__ import annotations

import typer
from rich.table import Table

from cli.common import ctx, user_errors
from core.netguard import AddressPolicy
from db import queries
from db.models import SourceKind
from db.session import unit_of_work
from wirewatch import catalog
from wirewatch.bootstrap import load_sources, load_topics
from wirewatch.topic_preview import preview_query, saved_or_draft

sources_app = typer.Typer(help="Manage the sources that are crawled.", no_args_is_help=True)
topics_app = typer.Typer(
    help="Manage topics (saved queries people subscribe to).", no_args_is_help=True
)


@sources_app.command("list")
def sources_list() -> None:
    """List sources with their health."""
    c = ctx()
    with user_errors():
        c.require_schema()
        with c.factory() as session:
            rows = queries.list_sources(session=session)
            table = Table(
                "name", "kind", "lang", "on", "every", "last success", "errors", "last error", "url"
            )
            for s in rows:
                table.add_row(
                    s.name,
                    s.kind.value,
                    s.language or "",
                    "yes" if s.enabled else "no",
                    f"{s.interval_minutes}m",
                    s.last_success_at.strftime("%Y-%m-%d %H:%M") if s.last_success_at else "never",
                    str(s.error_count),
                    (s.last_error or "")[:60],
                    s.url,
                )
    c.console.print(table)


@sources_app.command("add")
def sources_add(
    name: str = typer.Argument(
        ..., help="Unique short name: letters, digits, '.', '_' or '-' (e.g. asia-wire)."
    ),
    url: str = typer.Argument(
        ..., help="Feed URL, or https://t.me/s/<channel> with --kind telegram."
    ),
    kind: SourceKind = typer.Option(SourceKind.FEED, "--kind", help="feed or telegram."),
    language: str = typer.Option(
        None, "--lang", help="Main language of the outlet: a code such as ru, tg or en."
    ),
    interval: int = typer.Option(
        None,
        "--interval",
        help=f"Minutes between crawls, 1 to {catalog.MAX_INTERVAL} "
        "(default: WIREWATCH_DEFAULT_CRAWL_INTERVAL_MINUTES).",
    ),
) -> None:
    """Add a source (or update the one with this name)."""
    c = ctx()
    with user_errors():
        spec = catalog.check_source(
            name=name,
            url=url,
            kind=kind,
            language=language,
            interval_minutes=interval,
            default_interval=c.settings.default_crawl_interval_minutes,
            policy=AddressPolicy.from_settings(c.settings),
        )
        c.require_schema()
        with unit_of_work(c.factory) as session:
            _, created = catalog.save_source(session=session, spec=spec)
    c.console.print(f"{'added' if created else 'updated'} source {spec.name}: {spec.url}")


def _set_enabled(name: str, enabled: bool) -> None:
    c = ctx()
    with user_errors():
        c.require_schema()
        with unit_of_work(c.factory) as session:
            catalog.set_source_enabled(session=session, name=name, enabled=enabled)
    c.console.print(f"source {name} {'enabled' if enabled else 'disabled'}")


@sources_app.command("disable")
def sources_disable(name: str = typer.Argument(..., help="Source name.")) -> None:
    """Stop crawling a source (its stories stay in the archive)."""
    _set_enabled(name, False)


@sources_app.command("enable")
def sources_enable(name: str = typer.Argument(..., help="Source name.")) -> None:
    """Crawl a disabled source again."""
    _set_enabled(name, True)


@sources_app.command("load")
def sources_load(
    path: str = typer.Argument(None, help="YAML file (default: WIREWATCH_SOURCES_FILE)."),
) -> None:
    """Load sources from a YAML file into the database."""
    c = ctx()
    from pathlib import Path

    with user_errors():
        c.require_schema()
        with unit_of_work(c.factory) as session:
            report = load_sources(
                session,
                Path(path) if path else c.settings.sources_file,
                default_interval=c.settings.default_crawl_interval_minutes,
            )
    c.console.print(f"sources: {report.created} new, {report.updated} updated")


@topics_app.command("list")
def topics_list() -> None:
    """List topics."""
    c = ctx()
    with user_errors():
        c.require_schema()
        with c.factory() as session:
            table = Table("name", "on", "query")
            table.add_column("slug", no_wrap=True)
            table.columns.insert(0, table.columns.pop())
            for t in queries.list_topics(session=session):
                query = t.query if len(t.query) <= 80 else t.query[:77] + "..."
                table.add_row(t.slug, t.name, "yes" if t.enabled else "no", query)
    c.console.print(table)


@topics_app.command("add")
def topics_add(
    slug: str = typer.Argument(
        ...,
        help="Short identifier: lowercase letters, digits and '-' (e.g. police-liaison-migration).",
    ),
    query: str = typer.Option(..., "--query", "-q", help="The topic's query."),
    name: str = typer.Option(None, "--name", help="Display name (default: the slug)."),
    definition: str = typer.Option("", "--definition", help="What belongs to the topic, in words."),
) -> None:
    """Add or update a topic; the query is checked before it is saved."""
    c = ctx()
    with user_errors():
        spec = catalog.check_topic(slug=slug, name=name, query=query, definition=definition)
        c.require_schema()
        with unit_of_work(c.factory) as session:
            _, created = catalog.save_topic(session=session, spec=spec)
    c.console.print(f"{'added' if created else 'updated'} topic {slug}")


@topics_app.command("show")
def topics_show(slug: str = typer.Argument(..., help="Topic slug.")) -> None:
    """Show a topic's definition and query."""
    c = ctx()
    with user_errors():
        c.require_schema()
        with c.factory() as session:
            t = queries.get_topic(session=session, slug=slug)
            c.console.print(f"[bold]{t.name}[/] ({t.slug})")
            if t.definition:
                c.console.print(t.definition)
            c.console.print("query:", style="bold")
            c.console.print(t.query, markup=False, highlight=False)


@topics_app.command("preview")
def topics_preview(
    slug_or_query: str = typer.Argument(..., help="A saved topic's slug, or a draft query."),
    days: int = typer.Option(90, "--days", min=1, max=3650, help="How far back to look."),
    sample: int = typer.Option(10, "--sample", min=0, max=100, help="How many matches to show."),
) -> None:
    """Run a topic (or a draft query) over the archive: hits per day and language, and a sample."""
    c = ctx()
    with user_errors():
        c.require_schema()
        with c.factory() as session:
            query = saved_or_draft(session, slug_or_query)
            report = preview_query(session, query, days=days, sample_size=sample)
    c.console.print(f"{report.matched} of {report.scanned} stories from the last {days} days match")
    if report.per_language:
        langs = ", ".join(f"{lang} {n}" for lang, n in report.per_language.most_common())
        c.console.print(f"by language: {langs}")
    if report.per_day:
        peak = max(report.per_day.values())
        table = Table("day", "hits", "")
        for day in sorted(report.per_day):
            hits = report.per_day[day]
            table.add_row(day, str(hits), "█" * max(1, round(20 * hits / peak)))
        c.console.print(table)
    if report.sample:
        table = Table("published", "source", "lang", "title", "why", title="sample")
        for s in report.sample:
            table.add_row(
                s.when.strftime("%Y-%m-%d %H:%M"),
                s.source,
                s.language or "",
                s.title,
                "; ".join(s.why),
            )
        c.console.print(table)


@topics_app.command("load")
def topics_load(
    path: str = typer.Argument(None, help="YAML file (default: WIREWATCH_TOPICS_FILE)."),
) -> None:
    """Load topics from a YAML file (every query is checked first)."""
    c = ctx()
    from pathlib import Path

    with user_errors():
        c.require_schema()
        with unit_of_work(c.factory) as session:
            report = load_topics(session, Path(path) if path else c.settings.topics_file)
    c.console.print(f"topics: {report.created} new, {report.updated} updated")


def register(app: typer.Typer) -> None:
    app.add_typer(sources_app, name="sources")
    app.add_typer(topics_app, name="topics")
