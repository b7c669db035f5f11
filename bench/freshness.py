"""From a story appearing at a source to the instant email, per source kind.

A real scheduler process (``wirewatch scheduler``, as ``wirewatch run`` starts
it) with default settings, an outbox transport, one source polled every
minute (``interval_minutes=1``) on 127.0.0.1, and an instant subscriber to a
topic only the new story matches. After the scheduler's first crawl has
settled, the story is added to the feed (or to the Telegram channel preview);
the time until its email is in the outbox is split into: waiting for the next
crawl to start (polling), the crawl itself, and from the crawl's end to the
email (what the digest job adds).

    python -m bench.freshness [--kinds feed telegram] [--samples 1] [--postgres URL]
        [--baseline-tree DIR [--baseline-only]]

``--baseline-tree`` also runs the scheduler of another checkout against the same
fixture (e.g. the commit before crawls woke the digest job).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.databases import scratch_postgres
from core.settings import Settings
from db import queries
from db.models import CrawlRun, Frequency, SourceKind, Story
from db.session import make_engine, make_sessionmaker, unit_of_work

ROOT = Path(__file__).resolve().parent.parent
CHANNEL = ROOT / "wirewatch/demo_site/sites/telegram/s/dushanbe_herald.html"
HISTORY_CLOSE = "</section>"
TITLE = "Ferry line to the islands reopens"
TEXT = (
    "Ferry line to the islands reopens. The harbour authority said the ferry will run "
    "twice a day from Monday, after weeks of talks with the crews' union."
)
POST = """<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message js-widget_message" data-post="dushanbe_herald/{id}">
  <div class="tgme_widget_message_bubble">
    <div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>
    <div class="tgme_widget_message_footer js-message_footer">
      <div class="tgme_widget_message_info js-message_info">
        <span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" href="https://t.me/dushanbe_herald/{id}"><time datetime="{when}" class="time">12:00</time></a></span>
      </div>
    </div>
  </div>
</div></div>
"""


class Source:
    """One feed or channel preview on 127.0.0.1; ``publish`` adds the story."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.published = False
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if "robots.txt" in self.path:
                    self.send_error(404)
                    return
                body, kind = source.render()
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"{self.base}/s/dushanbe_herald" if self.kind == "telegram" else f"{self.base}/rss"

    def render(self) -> tuple[bytes, str]:
        if self.kind == "telegram":
            page = CHANNEL.read_text(encoding="utf-8")
            if self.published:
                post = POST.format(id=99999, text=TEXT, when=datetime.now(UTC).isoformat())
                head, _, tail = page.rpartition(HISTORY_CLOSE)
                page = head + post + HISTORY_CLOSE + tail
            return page.encode(), "text/html; charset=utf-8"
        items = (
            f"<item><title>Council budget approved</title><link>{self.base}/news/1</link>"
            "<description>The city council approved next year's budget.</description></item>"
        )
        if self.published:
            items = (
                f"<item><title>{TITLE}</title><link>{self.base}/news/2</link>"
                f"<description>{TEXT}</description></item>"
            ) + items
        feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Port</title>{items}</channel></rss>'
        return feed.encode(), "application/rss+xml"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Sample:
    to_crawl: float  # the story appeared → the crawl that stored it started
    crawl: float  # that crawl, start to end
    to_email: float  # the crawl ended → the email was in the outbox
    total: float


@contextmanager
def fresh_database(kind: str, workdir: Path, postgres: str | None) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'fresh-{uuid.uuid4().hex[:8]}.db'}"
        return
    assert postgres is not None
    with scratch_postgres(postgres, "bench_fresh") as url:
        yield url


def _wait(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.2)


def measure(kind: str, url: str, workdir: Path, tree: Path) -> Sample:
    # The schema of the tree whose scheduler runs (it refuses revisions it does not know).
    subprocess.run(
        [sys.executable, "-c", f"from db.migrate import upgrade; upgrade({url!r})"],
        env={**os.environ, "PYTHONPATH": str(tree)},
        cwd=tree,
        check=True,
    )
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    fixture = Source(kind)
    outbox = workdir / f"outbox-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        data_dir=workdir,
        database_url=url,
        outbox_dir=outbox,
        mail_transport="outbox",
        allow_private_hosts=["127.0.0.1"],
        # The source is due every minute, as its interval says: not adaptive
        # polling's estimate, never under its 5-minute floor by default.
        adaptive_polling=False,
        poll_min_minutes=1,
        poll_jitter=0,
    )
    with unit_of_work(factory) as session:
        queries.upsert_source(
            session=session,
            name="port",
            url=fixture.url,
            kind=SourceKind.TELEGRAM if kind == "telegram" else SourceKind.FEED,
            interval_minutes=1,
        )
        topic, _ = queries.upsert_topic(
            session=session, slug="ferries", name="Ferries", query="ferry"
        )
        queries.subscribe(
            session=session,
            email="desk@newsroom.example",
            topic=topic,
            frequency=Frequency.INSTANT,
            token=uuid.uuid4().hex,
            confirmed=True,
        )
    env = {**os.environ, **settings.to_env(), "PYTHONPATH": str(tree)}
    env.pop("WIREWATCH_CONFIG", None)
    service = subprocess.Popen(
        [sys.executable, "-m", "cli", "scheduler"],
        env=env,
        cwd=tree,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def first_settled() -> bool:
            with factory() as session:
                run = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).first()
                return run is not None and run.finished_at is not None

        _wait("the first crawl", first_settled, 300)
        fixture.published = True
        appeared = datetime.now(UTC)
        started = time.monotonic()
        _wait("the email", lambda: list(outbox.glob("*.eml")), 900)
        total = time.monotonic() - started
        with factory() as session:
            story = session.scalars(select(Story).where(Story.title.like("Ferry%"))).one()
            run = session.scalars(
                select(CrawlRun)
                .where(CrawlRun.started_at <= story.fetched_at)
                .order_by(CrawlRun.id.desc())
            ).first()
            assert run is not None and run.finished_at is not None
            run_started, run_finished = run.started_at, run.finished_at
        emailed = appeared.timestamp() + total
        return Sample(
            to_crawl=(run_started - appeared).total_seconds(),
            crawl=(run_finished - run_started).total_seconds(),
            to_email=emailed - run_finished.timestamp(),
            total=total,
        )
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(timeout=60)
        except subprocess.TimeoutExpired:
            service.kill()
        fixture.close()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=["feed", "telegram"])
    parser.add_argument("--samples", type=int, default=1)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (database made)")
    parser.add_argument("--baseline-tree", type=Path, help="another checkout's scheduler")
    parser.add_argument("--baseline-only", action="store_true", help="skip this checkout")
    options = parser.parse_args()
    trees = [] if options.baseline_only else [("this checkout", ROOT)]
    if options.baseline_tree:
        trees.insert(0, ("baseline tree", options.baseline_tree.resolve()))
    engines = ["postgresql"] if options.postgres else ["sqlite"]
    print(
        f"{'tree':<14} {'db':<10} {'kind':<9} {'to crawl':>9} {'crawl':>7} "
        f"{'end→email':>10} {'total':>7}  (seconds, median of {options.samples})"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for tree_name, tree in trees:
            for db in engines:
                for kind in options.kinds:
                    samples = []
                    for _ in range(options.samples):
                        with fresh_database(db, Path(tmp), options.postgres) as url:
                            samples.append(measure(kind, url, Path(tmp), tree))
                    m = {
                        f: statistics.median(getattr(s, f) for s in samples)
                        for f in ("to_crawl", "crawl", "to_email", "total")
                    }
                    print(
                        f"{tree_name:<14} {db:<10} {kind:<9} {m['to_crawl']:>9.1f} "
                        f"{m['crawl']:>7.1f} {m['to_email']:>10.1f} {m['total']:>7.1f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
