"""Set up and run the service: init, run, web, scheduler, config show."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from types import FrameType

import typer

from cli.common import ctx, user_errors
from cli.context import AppContext
from core.settings import Settings
from db import queries
from db.session import unit_of_work
from wirewatch.bootstrap import load_sources, load_topics

log = logging.getLogger(__name__)


def init(
    no_sources: bool = typer.Option(False, "--no-sources", help="Do not load the sources file."),
) -> None:
    """Create or migrate the database and load the default sources and topics."""
    c = ctx()
    with user_errors():
        c.settings.data_dir.mkdir(parents=True, exist_ok=True)
        c.migrate()
        with unit_of_work(c.factory) as session:
            topics = load_topics(session, c.settings.topics_file)
            sources = (
                None
                if no_sources
                else load_sources(
                    session,
                    c.settings.sources_file,
                    default_interval=c.settings.default_crawl_interval_minutes,
                )
            )
    c.console.print(f"database ready: {c.settings.redacted()['database_url']}")
    c.console.print(f"topics: {topics.created} new, {topics.updated} updated")
    if sources is not None:
        c.console.print(f"sources: {sources.created} new, {sources.updated} updated")
    _announce_mail(c)


def _announce_mail(c: AppContext) -> None:
    warn_settings(c)
    transport = c.settings.effective_mail_transport
    if transport == "outbox":
        c.console.print(
            f"mail: no SENDGRID_API_KEY or SMTP_URL set, so digests are written as .eml files "
            f"to {c.settings.outbox_dir}"
        )
    else:
        c.console.print(f"mail: sending through {transport}")


def run() -> None:
    """Start the service: the scheduler (its own process) and the web app."""
    c = ctx()
    with user_errors():
        c.migrate()
    _announce_mail(c)
    _hint_when_empty(c)
    serve(c, c.settings, app_settings=None)


def _hint_when_empty(c: AppContext) -> None:
    """An empty archive looks broken to a newcomer: say what fills it, and where the demo is."""
    with c.factory() as session:
        if queries.count_stories(session=session):
            return
    c.console.print(
        "the archive is empty until the first crawl (due sources are crawled within a "
        "minute, or run `wirewatch crawl --all`); to browse the offline demo's stories "
        "instead, stop this and run `make demo` (`wirewatch demo --serve`)"
    )


def serve(c: AppContext, settings: Settings, *, app_settings: Settings | None) -> None:
    """The scheduler in a child process and the web app in this one, until stopped.

    ``app_settings`` None: both read the environment's settings, as `run` does;
    otherwise both run on the given ones (the scheduler gets them as
    environment variables), as `demo --serve` does on the demo's archive.
    """
    # uvicorn stops gracefully on SIGTERM, then raises the signal again: with the
    # default handler that kills this process at once, before the scheduler it
    # started is told to stop (a `docker stop` or `kill` left it running alone).
    signal.signal(signal.SIGTERM, _exit_on_signal)
    env = None if app_settings is None else {**os.environ, **app_settings.to_env()}
    scheduler = subprocess.Popen([sys.executable, "-m", "cli", "scheduler"], env=env)
    c.console.print(f"scheduler started (pid {scheduler.pid})")
    c.console.print(f"web: http://{settings.web_host}:{settings.web_port}")
    try:
        if app_settings is None:
            _serve_web(settings.web_host, settings.web_port)
        else:
            _serve_app(app_settings)
    finally:
        scheduler.send_signal(signal.SIGTERM)
        try:
            scheduler.wait(timeout=15)
        except subprocess.TimeoutExpired:
            scheduler.kill()


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def web(
    host: str = typer.Option(None, help="Address to bind (default: WIREWATCH_WEB_HOST)."),
    port: int = typer.Option(None, help="Port (default: WIREWATCH_WEB_PORT)."),
) -> None:
    """Run only the web app: the archive, subscriptions, the JSON API."""
    c = ctx()
    with user_errors():
        c.migrate()
    warn_settings(c)
    _serve_web(host or c.settings.web_host, port if port is not None else c.settings.web_port)


def _serve_web(host: str, port: int) -> None:
    import uvicorn

    uvicorn.run("web.app:create_app", factory=True, host=host, port=port, log_level="info")


def _serve_app(settings: Settings) -> None:
    import uvicorn

    from web.app import create_app

    uvicorn.run(
        create_app(settings), host=settings.web_host, port=settings.web_port, log_level="info"
    )


def scheduler() -> None:
    """Run only the scheduler: periodic crawls and digests (run exactly one)."""
    from scheduler.service import run_scheduler

    c = ctx()
    with user_errors():
        c.migrate()
        warn_settings(c)
        run_scheduler(c.settings)


config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)


@config_app.command("show")
def config_show(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Show every setting in effect, with secrets masked."""
    c = ctx()
    values = c.settings.redacted()
    if as_json:
        c.console.print_json(json.dumps(values, default=str))
    else:
        from rich.table import Table

        table = Table("setting", "value")
        for name, value in values.items():
            table.add_row(name, str(value))
        c.console.print(table)
    warn_settings(c)


def warn_settings(c: AppContext) -> None:
    """Settings that work but are almost certainly wrong, on stderr and in the log."""
    for warning in c.settings.warnings():
        log.warning("%s", warning)
        c.err.print(f"[yellow]warning: {warning}[/]")


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(run)
    app.command()(web)
    app.command()(scheduler)
    app.add_typer(config_app, name="config")
