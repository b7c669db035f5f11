"""Sources and topics: list, add, disable, show."""

from __future__ import annotations

import typer
from rich.table import Table

from alerts import relevance
from alerts.relevance import DOUBT_THRESHOLD
from cli.common import ctx, user_errors
from core.netguard import AddressPolicy
from db import queries
from db.models import SourceKind
from db.session import unit_of_work
from wirewatch import catalog, topic_model
from wirewatch.bootstrap import load_sources, load_topics
from wirewatch.topic_preview import PreviewSample, preview_query, saved_model, saved_or_draft

sources_app = typer.Typer(help="Manage the sources that are crawled.", no_args_is_help=True)
topics_app = typer.Typer(
    help="Manage topics (saved queries people subscribe to), their readers' feedback "
    "and relevance models.",
    no_args_is_help=True,
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
                    f"{s.poll_minutes or s.interval_minutes}m",
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
        ...,
        help="Feed URL; https://t.me/s/<channel> with --kind telegram; a sitemap or the "
        "site with --kind sitemap; the section page with --kind section; a search URL "
        "holding {query} with --kind search (see docs/sources.md).",
    ),
    kind: SourceKind = typer.Option(
        SourceKind.FEED, "--kind", help="feed, telegram, sitemap, section or search."
    ),
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


@sources_app.command("links")
def sources_links(
    name: str = typer.Argument(..., help="Name of a section source."),
    css: str = typer.Option(
        None, "--css", help="CSS selector of the article links (or of blocks holding them)."
    ),
    xpath: str = typer.Option(
        None, "--xpath", help="XPath expression of the article links (or of blocks holding them)."
    ),
) -> None:
    """Set the rules that find a section page's article links; neither option: the heuristics."""
    c = ctx()
    with user_errors():
        c.require_schema()
        with unit_of_work(c.factory) as session:
            source = catalog.set_link_rules(session=session, name=name, css=css, xpath=xpath)
            rules = dict(source.link_rules or {})
            kind = source.kind
    if not rules:
        c.console.print(f"source {name}: article links found by the default heuristics")
    else:
        shown = ", ".join(f"{key} {value!r}" for key, value in rules.items())
        c.console.print(f"source {name}: article links found by {shown}")
    if kind != SourceKind.SECTION:
        c.console.print(f"note: {name} is a {kind.value} source; only section sources use them")


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
    """Run a topic (or a draft query) over the archive: hits per day and language, and a sample.

    For a saved topic with a relevance model, each match gets the model's
    probability, and matches the model doubts are flagged as likely false positives.
    """
    c = ctx()
    with user_errors():
        c.require_schema()
        with c.factory() as session:
            query = saved_or_draft(session, slug_or_query)
            model = saved_model(session, slug_or_query)
            report = preview_query(session, query, days=days, sample_size=sample, model=model)
    c.console.print(f"{report.matched} of {report.scanned} stories from the last {days} days match")
    if report.modelled:
        c.console.print(
            f"the topic's model doubts {report.doubtful} of them "
            f"(probability below {DOUBT_THRESHOLD:.2f}): likely false positives"
        )
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
        c.console.print(_sample_table(report.sample, "sample", report.modelled))
    if report.doubtful_sample:
        c.console.print(_sample_table(report.doubtful_sample, "likely false positives", True))


def _sample_table(samples: list[PreviewSample], title: str, modelled: bool) -> Table:
    table = Table("published", "source", "lang", "title", "why", title=title)
    if modelled:
        table.add_column("model")
    for s in samples:
        row = [
            s.when.strftime("%Y-%m-%d %H:%M"),
            s.source,
            s.language or "",
            s.title,
            "; ".join(s.why),
        ]
        if modelled:
            p = s.probability
            row.append("" if p is None else f"{p:.2f}" + (" doubtful" if s.doubtful else ""))
        table.add_row(*row)
    return table


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


@topics_app.command("feedback")
def topics_feedback(
    slug: str = typer.Argument(..., help="Topic slug."),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="How many to list."),
) -> None:
    """List readers' judgments of the topic's stories ("relevant" / "not relevant"), newest first."""
    c = ctx()
    with user_errors():
        c.migrate()
        with c.factory() as session:
            topic, rows = topic_model.judgments(session, slug, limit=limit)
            table = Table("judged", "who", "verdict", "story", "title", title=topic.name)
            for judgment, story in rows:
                table.add_row(
                    judgment.judged_at.strftime("%Y-%m-%d %H:%M"),
                    judgment.who,
                    "relevant" if judgment.relevant else "not relevant",
                    str(story.id),
                    story.title,
                )
    if not rows:
        c.console.print(f"no judgments for {slug} yet")
        return
    c.console.print(table)


@topics_app.command("model")
def topics_model(
    slug: str = typer.Argument(..., help="Topic slug."),
    on: bool = typer.Option(
        None,
        "--on/--off",
        help="Let the topic's relevance model add stories the query missed, or not. "
        "Without either, show the model's state.",
        show_default=False,
    ),
) -> None:
    """Switch a topic's relevance model on or off, or show what it learns from."""
    c = ctx()
    with user_errors():
        c.migrate()
        if on is not None:
            with unit_of_work(c.factory) as session:
                topic_model.set_model_enabled(session, slug, on)
        with c.factory() as session:
            status = topic_model.model_status(session, slug)
            enabled = status.topic.model_enabled
    c.console.print(f"{slug}: model {'on' if enabled else 'off'}")
    c.console.print(
        f"examples: {status.seeds} seed ({status.seeds_relevant} relevant), "
        f"{status.judged} judged by readers ({status.judged_relevant} relevant)"
    )
    if status.model is not None:
        c.console.print(
            f"trained on {status.model.examples} examples; adds a story the query missed "
            f"at probability >= {relevance.ADD_THRESHOLD:.2f}"
        )
    elif enabled and not status.trainable:
        c.console.print(
            f"not trained: needs {relevance.MIN_EXAMPLES} relevant and "
            f"{relevance.MIN_EXAMPLES} not relevant examples"
        )
    c.console.print(f"matches: {status.matches}, of which the model added {status.added}")


@topics_app.command("suggest")
def topics_suggest(
    slug: str = typer.Argument(..., help="Topic slug."),
    limit: int = typer.Option(20, "--limit", min=1, max=200, help="How many terms."),
) -> None:
    """Suggest query terms: words the topic's model weighs high in relevant stories the
    query missed (judged relevant, seed examples, or added by the model), not yet in the query."""
    c = ctx()
    with user_errors():
        c.migrate()
        with c.factory() as session:
            found = topic_model.suggest(session, slug, limit=limit)
    if found.model is None:
        c.console.print(f"{slug} has no relevance model (see `wirewatch topics model {slug}`)")
        return
    c.console.print(f"{found.missed} relevant stories the query misses")
    if not found.terms:
        c.console.print("no term to suggest")
        return
    table = Table("term", "stem", "weight", "stories")
    for term in found.terms:
        table.add_row(term.term, term.key, f"{term.weight:.2f}", str(term.stories))
    c.console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(sources_app, name="sources")
    app.add_typer(topics_app, name="topics")
