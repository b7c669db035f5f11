"""`wirewatch demo`: the whole pipeline, offline, against the bundled fixture news site.

It starts the fixture site on 127.0.0.1, points a separate demo database at
its feeds, crawls, matches the default topic, sends a digest to the outbox
and prints what happened at each step. Nothing leaves the machine.

The demo's data folder is ``<data_dir>/demo``, and its base URL (the address
the digest's links point to) is the web app that ``--serve`` starts on the
demo database afterwards, so a newcomer can follow the digest's links to the
stories it lists, and browse and search the rest.
"""

from __future__ import annotations

import shutil
import statistics
import time
from datetime import UTC, datetime

import typer
from rich.table import Table
from sqlalchemy import func, select

from alerts import sourcehealth
from alerts.digest import send_due_digests
from alerts.matching import match_all_pending
from alerts.senders import make_sender
from cli.common import ctx, reset_context, user_errors
from cli.context import AppContext
from cli.service import serve
from core.settings import Settings
from crawler.runner import settle, start_crawl
from db import queries
from db.models import (
    Cluster,
    CrawlRun,
    Delivery,
    Event,
    Frequency,
    Source,
    SourceKind,
    Story,
    TopicMatch,
)
from db.session import unit_of_work
from wirewatch.bootstrap import load_topics
from wirewatch.demo_site.manifest import load_manifest
from wirewatch.demo_site.server import FixtureSite

DEMO_ADDRESS = "newsroom@wirewatch.example"
DEFAULT_TOPIC = "police-liaison-migration"
# Channel previews the fixture site serves like https://t.me/s/<channel>.
TELEGRAM_CHANNELS = ("dushanbe_herald", "akhbori_tojikiston")


def demo_base_url(base: Settings, port: int | None = None) -> str:
    """Where `wirewatch demo --serve` serves the demo: the digest's links point there."""
    return f"http://{base.web_host}:{base.web_port if port is None else port}"


def demo_settings(base: Settings, port: int | None = None) -> Settings:
    data_dir = base.data_dir / "demo"
    return Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'wirewatch.db'}",
        outbox_dir=data_dir / "outbox",
        mail_transport="outbox",
        allow_private_hosts=["127.0.0.1"],
        download_delay=0,
        topics_file=base.topics_file,
        base_url=demo_base_url(base, port),
        web_host=base.web_host,
        web_port=base.web_port if port is None else port,
        scheduler_tick_seconds=base.scheduler_tick_seconds,
        log_level=base.log_level,
    )


def demo(
    keep: bool = typer.Option(False, "--keep", help="Keep the previous demo database and outbox."),
    serve_after: bool = typer.Option(
        False,
        "--serve",
        help="Afterwards, serve the web app on the demo database until Ctrl-C, "
        "where the digest's links point.",
    ),
    port: int = typer.Option(
        None, help="Port of the web app --serve starts (default: WIREWATCH_WEB_PORT)."
    ),
) -> None:
    """Run the whole pipeline offline against a local fixture news site."""
    base = ctx()
    settings = demo_settings(base.settings, port)
    if not keep and settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)
    c = AppContext(settings=settings, console=base.console, err=base.err)
    reset_context(c)
    manifest = load_manifest()
    with user_errors(), FixtureSite() as site:
        c.console.rule("1. fixture news site")
        c.console.print(
            f"serving {len(manifest.outlets)} outlets and {len(TELEGRAM_CHANNELS)} Telegram "
            f"channel previews at {site.base_url}"
        )
        c.migrate()
        with unit_of_work(c.factory) as session:
            load_topics(session, settings.topics_file)
            for outlet in manifest.outlets:
                queries.upsert_source(
                    session=session,
                    name=outlet.slug,
                    url=outlet.feed_url(site.base_url),
                    language=outlet.language,
                    homepage=outlet.base_url(site.base_url),
                )
            for channel in TELEGRAM_CHANNELS:
                queries.upsert_source(
                    session=session,
                    name=f"tg-{channel}",
                    kind=SourceKind.TELEGRAM,
                    url=f"{site.base_url}/telegram/s/{channel}",
                )
            topic = queries.get_topic(session=session, slug=DEFAULT_TOPIC)
            queries.subscribe(
                session=session,
                email=DEMO_ADDRESS,
                topic=topic,
                frequency=Frequency.INSTANT,
                token="demo-" + str(int(time.time())),
                confirmed=True,
            )
        c.console.print(f"subscribed {DEMO_ADDRESS} to {DEFAULT_TOPIC} (instant)")

        c.console.rule("2. crawl")
        started = datetime.now(UTC)
        run = _crawl(c)
        c.console.print(
            f"crawl #{run.id} {run.status.value}: {run.fetched} fetched, {run.new} new, "
            f"{run.duplicates} duplicates, {run.failed} failed"
        )

        c.console.rule("3. stored and matched")
        _report_archive(c, len(manifest.on_beat()))
        _report_found_delays(c)

        c.console.rule("4. digest")
        summary = send_due_digests(c.factory, settings, make_sender(settings))
        delay = (datetime.now(UTC) - started).total_seconds()
        for path in sorted(settings.outbox_dir.glob("*.eml")) if settings.outbox_dir else []:
            c.console.print(f"outbox: {path}")
        c.console.print(
            f"{summary.sent} digest(s) sent listing {summary.listing()}; "
            f"from crawl start to digest in the outbox: {delay:.1f} s"
        )
        _report_delay(c)

        c.console.rule("5. crawl again")
        again = _crawl(c)
        resend = send_due_digests(c.factory, settings, make_sender(settings))
        c.console.print(
            f"second crawl: {again.new} new, {again.not_modified} feeds not modified; "
            f"{resend.sent} further digest(s)"
        )
        if run.status.value == "failed":
            raise typer.Exit(1)
        c.console.rule("6. browse")
        if not serve_after:
            c.console.print(
                f"to browse the demo's stories where the digest's links point "
                f"({settings.base_url}): wirewatch demo --serve\n"
                f"to use the other commands on the demo's archive: "
                f"export WIREWATCH_DATA_DIR={settings.data_dir}"
            )
            return
        # The fixture site stays up, so the scheduler's crawls still reach it.
        c.console.print(
            f"the web app on the demo's archive, where the digest's links point: "
            f"{settings.base_url}; the scheduler sends new subscribers' digests to "
            f"{settings.outbox_dir}; Ctrl-C to stop"
        )
        serve(c, settings, app_settings=settings)


def _crawl(c: AppContext) -> CrawlRun:
    handle = start_crawl(c.settings, c.factory, crawl_all=True, trigger="demo")
    while handle.running():
        time.sleep(0.3)
    run = settle(c.factory, handle)
    match_all_pending(c.factory)  # as the scheduler's alerts pass would, before the report
    return run


def _report_delay(c: AppContext) -> None:
    """How long each delivered story waited between being matched (stored) and leaving."""
    with c.factory() as session:
        rows = session.execute(
            select(Delivery.sent_at, TopicMatch.matched_at)
            .join(TopicMatch, TopicMatch.story_id == Delivery.story_id)
            .where(Delivery.sent_at.is_not(None))
        ).all()
    waits = sorted((sent - matched).total_seconds() for sent, matched in rows if sent)
    if not waits:
        return
    c.console.print(
        f"instant delivery: stories left {statistics.median(waits):.1f} s (median) and at most "
        f"{waits[-1]:.1f} s after they were stored; the limit is "
        f"instant_batch_minutes={c.settings.instant_batch_minutes:g} min plus one scheduler tick"
    )


def _report_found_delays(c: AppContext) -> None:
    """Provenance: how long after publication each source kind found its stories."""
    with c.factory() as session:
        rows = sourcehealth.found_delays(session)
    for r in rows:
        c.console.print(
            f"found by {r.label} sources: {r.stories} stories, {r.timed} dated; delay from "
            f"published to found: median {sourcehealth.span(r.median) or '-'}, "
            f"p90 {sourcehealth.span(r.p90) or '-'}"
        )


def _report_archive(c: AppContext, expected_on_beat: int) -> None:
    with c.factory() as session:
        per_source = session.execute(
            select(Source.name, func.count(Story.id))
            .join(Story, Story.source_id == Source.id)
            .group_by(Source.name)
            .order_by(Source.name)
        ).all()
        table = Table("outlet", "stories")
        for name, count in per_source:
            table.add_row(name, str(count))
        c.console.print(table)
        matched = session.scalar(select(func.count()).select_from(TopicMatch)) or 0
        articles = (
            session.scalar(
                select(func.count())
                .select_from(TopicMatch)
                .join(Story, Story.id == TopicMatch.story_id)
                .join(Source, Source.id == Story.source_id)
                .where(Source.kind == SourceKind.FEED)
            )
            or 0
        )
        multi = (
            session.scalar(select(func.count()).select_from(Cluster).where(Cluster.size > 1)) or 0
        )
        events = session.scalar(select(func.count()).select_from(Event).where(Event.size > 1)) or 0
        c.console.print(
            f"{matched} stories matched the default topic: {articles} articles "
            f"(the fixture site marks {expected_on_beat} articles as on the beat) and "
            f"{matched - articles} Telegram posts; "
            f"{multi} story cluster(s) copied by more than one outlet, "
            f"{events} event(s) reported by more than one outlet or in more than one language"
        )


def register(app: typer.Typer) -> None:
    app.command()(demo)
