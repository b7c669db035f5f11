"""`wirewatch crawl`: run a crawl now, watch its progress, print what it did."""

from __future__ import annotations

import os
import time

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from alerts.matching import match_all_pending
from cli.common import ctx, user_errors
from core.teardown import skip_teardown_collection
from crawler.runner import PROJECT_ROOT, CrawlHandle, settle, start_crawl, worker_command
from db import queries
from db.models import CrawlRun, CrawlStatus

POLL_SECONDS = 0.5


def crawl(
    source: list[str] = typer.Option(
        None, "--source", "-s", help="Crawl only this source (repeat for several)."
    ),
    crawl_all: bool = typer.Option(False, "--all", help="Crawl every enabled source, due or not."),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=32,
        help="Crawler processes sharing one queue through Redis (needs WIREWATCH_REDIS_URL).",
    ),
) -> None:
    """Crawl due sources now (or the named ones, or --all), with progress and a summary."""
    skip_teardown_collection()
    c = ctx()
    with user_errors():
        c.require_schema()
        handle = start_crawl(
            c.settings,
            c.factory,
            source_names=source or None,
            crawl_all=crawl_all,
            workers=workers,
        )
    run = _follow(handle)
    _print_summary(run)
    # Without a scheduler nothing else would match what this crawl stored.
    matched = match_all_pending(c.factory)
    c.console.print(f"{matched} new topic match(es)")
    if run.status == CrawlStatus.FAILED:
        raise typer.Exit(1)


def _follow(handle: CrawlHandle) -> CrawlRun:
    c = ctx()
    columns = (
        TextColumn("[bold]crawl #{task.fields[run_id]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("sources · {task.fields[counts]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=c.err, transient=False) as progress:
        task = progress.add_task("crawl", total=None, run_id=handle.run_id, counts="starting")
        while handle.running():
            _update(progress, task, handle.run_id)
            time.sleep(POLL_SECONDS)
        run = settle(c.factory, handle)
        _update(progress, task, handle.run_id)
    return run


def _update(progress: Progress, task: object, run_id: int) -> None:
    with ctx().factory() as session:
        run = queries.get_crawl_run(session=session, run_id=run_id)
        counts = f"{run.fetched} fetched, {run.new} new, {run.duplicates} dup, {run.failed} failed"
        progress.update(
            task,  # type: ignore[arg-type]
            total=run.sources_total or None,
            completed=run.sources_done,
            counts=counts,
        )


def _print_summary(run: CrawlRun) -> None:
    c = ctx()
    table = Table(title=f"crawl #{run.id}: {run.status.value}")
    for name in ("sources", "fetched", "new", "updated", "duplicates", "not modified", "failed"):
        table.add_column(name, justify="right")
    table.add_row(
        f"{run.sources_done}/{run.sources_total}",
        str(run.fetched),
        str(run.new),
        str(run.updated),
        str(run.duplicates),
        str(run.not_modified),
        str(run.failed),
    )
    c.console.print(table)
    if run.errors:
        errors = Table("source", "problem", title="problems")
        for error in run.errors:
            errors.add_row(error.get("source", ""), error.get("error", ""))
        c.console.print(errors)


def crawl_worker() -> None:
    """Run one long-running crawler worker: it idles until crawls are queued in Redis.

    With WIREWATCH_CRAWL_WORKERS=true the scheduler and `wirewatch crawl` queue their
    crawls for these workers instead of starting crawler processes; start as many as
    you like (`docker compose up --scale crawler=N`), they share one request queue.
    """
    c = ctx()
    with user_errors():
        c.require_schema()
        args, env = worker_command(c.settings)
    c.err.print("crawler worker: waiting for crawls queued in Redis")
    os.chdir(PROJECT_ROOT)
    os.execvpe(args[0], args, env)  # the worker is this process: signals reach Scrapy


def register(app: typer.Typer) -> None:
    app.command()(crawl)
    app.command("crawl-worker")(crawl_worker)
