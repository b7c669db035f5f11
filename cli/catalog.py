"""Sources and topics: list, add, disable, show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import typer
from rich.table import Table

from alerts import relevance, sourcehealth
from alerts.relevance import DOUBT_THRESHOLD
from alerts.senders import make_sender
from alerts.sourcealerts import alert_operator
from cli.common import ctx, user_errors
from core.netguard import AddressPolicy
from db import catalog as db_catalog
from db import queries
from db.models import SourceKind
from db.session import unit_of_work
from wirewatch import catalog, sourcecheck, topic_model
from wirewatch.bootstrap import load_sources, load_topics
from wirewatch.topic_preview import PreviewSample, preview_query, saved_model, saved_or_draft

sources_app = typer.Typer(help="Manage the sources that are crawled.", no_args_is_help=True)
topics_app = typer.Typer(
    help="Manage topics (saved queries people subscribe to), their readers' feedback "
    "and relevance models.",
    no_args_is_help=True,
)


@sources_app.command("list")
def sources_list(
    failing: bool = typer.Option(False, "--failing", help="Only the failing and paused sources."),
    errors: bool = typer.Option(
        False, "--errors", help="Print each problem in full under the table."
    ),
) -> None:
    """List sources with their state: kind, status, last success, last new story, stories per
    day, share of polls answered 304, next poll."""
    c = ctx()
    with user_errors():
        c.require_schema()
        with c.factory() as session:
            rows = sourcehealth.source_rows(session)
    shown = [r for r in rows if r.failing] if failing else rows
    table = Table(
        "name", "kind", "status", "last success", "last new story", "per day", "304s", "next poll"
    )
    for r in shown:
        s = r.source
        status = r.status + (f" ({r.failure_label})" if r.failure_label and r.failing else "")
        table.add_row(
            s.name,
            s.kind.value,
            status,
            _when(s.last_success_at, "never"),
            _when(s.last_new_story_at, ""),
            f"{r.per_day:.1f}",
            "" if r.not_modified_share is None else f"{r.not_modified_share:.0%}",
            "" if not s.enabled else _when(r.next_poll, "now"),
        )
    c.console.print(table)
    failing_count = sum(r.failing for r in rows)
    c.console.print(f"{len(rows)} sources, {failing_count} failing or paused")
    for r in shown if errors else []:
        if r.problem:
            _say(f"{r.source.name}: {r.problem}")


def _when(moment: datetime | None, empty: str) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else empty


@sources_app.command("add")
def sources_add(
    url: str = typer.Argument(
        ...,
        help="What to watch: a feed, sitemap, section page or site address, a Telegram channel "
        "(https://t.me/s/<channel> or @channel), or with --kind search a URL template with "
        "{query}. The older order NAME URL is still read.",
    ),
    old_url: str = typer.Argument(
        None, metavar="[URL]", help="The URL, when the first argument is the name (NAME URL)."
    ),
    name: str = typer.Option(
        None,
        "--name",
        help="Unique short name: letters, digits, '.', '_' or '-' (default: from the host, "
        "e.g. asiaplustj.info; tg-<channel> for Telegram).",
    ),
    kind: SourceKind = typer.Option(
        None,
        "--kind",
        help="feed, telegram, sitemap, section or search (default: what the check finds).",
        show_default=False,
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
    check: bool = typer.Option(
        True,
        "--check/--no-check",
        help="Fetch the address first and refuse what is no source (--no-check: save as "
        "given, for offline set-up; the kind is then feed unless it is a Telegram address).",
    ),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Take the feed a web page names without asking."
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Redefine the source of this name if there is one."
    ),
) -> None:
    """Add a source after checking what the address is: a feed (RSS, Atom, RDF, JSON Feed),
    a sitemap, a page that names its feed (offered), a section page, a Telegram channel."""
    c = ctx()
    if old_url is not None:
        name, url = url, old_url
    with user_errors():
        new = sourcecheck.check_new_source(
            url=url,
            name=name,
            kind=kind,
            language=language,
            interval_minutes=interval,
            default_interval=c.settings.default_crawl_interval_minutes,
            policy=AddressPolicy.from_settings(c.settings),
            fetch_first=check,
            take_offer=lambda offer: _take_offer(offer, yes),
            user_agent=c.settings.user_agent,
        )
        if new.detection is not None and not new.detection.offered:
            _say(f"found {new.detection.found}")
        for note in new.detection.notes if new.detection else []:
            _say(f"note: {note}")
        c.require_schema()
        with unit_of_work(c.factory) as session:
            _, created = catalog.save_source(session=session, spec=new.spec, replace=replace)
    spec = new.spec
    _say(f"{'added' if created else 'replaced'} source {spec.name} ({spec.kind.value}): {spec.url}")


def _say(line: str) -> None:
    ctx().console.print(line, markup=False, highlight=False, soft_wrap=True)


def _take_offer(found: sourcecheck.Detection, yes: bool) -> bool:
    """A page that names its feed: take the feed if told to or if the user agrees."""
    _say(f"found {found.found}")
    if yes:
        return True
    return typer.confirm(f"Add the feed {found.url} instead of the page?", default=True)


@sources_app.command("remove")
def sources_remove(
    name: str = typer.Argument(..., help="Source name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Remove without asking first."),
) -> None:
    """Remove a source. Its stories stay in the archive, no longer tied to a source (to stop
    crawling but keep them tied, `sources disable`; to delete stories, `stories delete`)."""
    c = ctx()
    with user_errors():
        c.require_schema()
        with c.factory() as session:
            source = queries.get_source(session=session, name=name)
            stories = db_catalog.count_source_stories(session=session, source_id=source.id)
        if not yes:
            noun = "story stays" if stories == 1 else "stories stay"
            c.console.print(f"{name}: {source.url} ({stories} {noun} in the archive)")
            typer.confirm(f"Remove source {name}?", default=False, abort=True)
        with unit_of_work(c.factory) as session:
            catalog.remove_source(session=session, name=name)
    c.console.print(f"removed source {name}; its {stories} stories stay in the archive")


@sources_app.command("alert")
def sources_alert(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Only list the incidents that would be reported."
    ),
) -> None:
    """Tell the operator (WIREWATCH_OPERATOR_EMAIL / _WEBHOOK_URL) about sources newly failing,
    paused or silent for longer than usual; each incident once. The scheduler does this after
    every crawl."""
    c = ctx()
    with user_errors():
        c.require_schema()
        sender = None if dry_run else make_sender(c.settings)
        report = alert_operator(c.factory, c.settings, sender, dry_run=dry_run)
    if not report.reported and not report.errors:
        _say("no new incident to report")
    elif dry_run:
        _say(f"would report: {', '.join(report.reported)}")
    elif report.emailed or report.posted:
        how = " and ".join(
            w for w, done in (("email", report.emailed), ("webhook", report.posted)) if done
        )
        _say(f"reported by {how}: {', '.join(report.reported)}")
    for error in report.errors:
        ctx().err.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
    if report.errors:
        raise typer.Exit(1)


@sources_app.command("delays")
def sources_delays(
    per_source: bool = typer.Option(False, "--per-source", help="One row per source, not kind."),
    days: int = typer.Option(
        None, "--days", min=1, max=3650, help="Only stories found in the last N days."
    ),
) -> None:
    """How long after publication stories were found, per source kind (median, 90th percentile),
    from each story's provenance: the source that found it first."""
    c = ctx()
    since = datetime.now(UTC) - timedelta(days=days) if days else None
    with user_errors():
        c.require_schema()
        with c.factory() as session:
            rows = sourcehealth.found_delays(
                session, by="source" if per_source else "kind", since=since
            )
    table = Table("source" if per_source else "kind", "stories", "dated", "median", "p90")
    for r in rows:
        table.add_row(
            r.label,
            str(r.stories),
            str(r.timed),
            sourcehealth.span(r.median),
            sourcehealth.span(r.p90),
        )
    c.console.print(table)


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
