"""What a crawl writes: commits and crawl-run row updates for an N-story crawl.

A real crawl (Scrapy, the feed spider, the pipelines) of F feeds on 127.0.0.1
holding N stories between them, in a child process that counts, through
SQLAlchemy's events, every commit and every UPDATE of the crawl_runs row it
makes. Run twice per database: the first crawl stores N new stories, the
second sees the same entries again in feeds whose bytes changed (so no 304),
which is the "known entries" path. Each variant gets a fresh database.

Variants: ``store_batch_size=1`` (every item its own transaction, as before
batching) and the default batch; with ``--baseline-tree DIR`` also the crawl
code of another checkout (e.g. a ``git worktree`` of the commit before
batching), run against the same fixture and a schema made by this checkout.

    python -m bench.crawl_writes --stories 400 --feeds 8 [--postgres URL] [--baseline-tree DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.databases import scratch_postgres
from db import queries
from db.migrate import upgrade
from db.session import make_engine, make_sessionmaker, unit_of_work

ROOT = Path(__file__).resolve().parent.parent

# Runs in the crawl's own process (this checkout's or the baseline's code).
CHILD = r"""
import json, sys
from sqlalchemy import Engine, event
counts = {"commits": 0, "run_updates": 0, "statements": 0}

@event.listens_for(Engine, "commit")
def _commit(conn):
    counts["commits"] += 1

@event.listens_for(Engine, "before_cursor_execute")
def _statement(conn, cursor, statement, *args):
    counts["statements"] += 1
    if " ".join(statement.split()).lower().startswith("update crawl_runs"):
        counts["run_updates"] += 1

from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings
from crawler.spiders.feeds import FeedSpider
args = json.loads(sys.argv[1])
process = CrawlerProcess(get_project_settings())
process.crawl(FeedSpider, run_id=args["run_id"], source_ids=args["source_ids"])
process.start()
print("COUNTS " + json.dumps(counts))
"""


class FixtureFeeds:
    """F RSS feeds sharing N stories; ``edition`` changes every feed's bytes, not its entries."""

    def __init__(self, stories: int, feeds: int) -> None:
        self.stories, self.feeds, self.edition = stories, feeds, 1
        fixture = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                last = self.path.strip("/").split("/")[-1]
                if not last.isdigit():
                    self.send_error(404)
                    return
                feed = int(last)
                body = fixture.render(feed).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def render(self, feed: int) -> str:
        items = []
        for n in range(feed, self.stories, self.feeds):
            words = " ".join(f"w{(n * 7919 + i * 104729) % 100003}" for i in range(90))
            items.append(
                f"<item><title>Report {n} from the harbour desk</title>"
                f"<link>{self.base}/story/{n}</link><guid>{self.base}/story/{n}</guid>"
                f"<description>Report {n}. {words}.</description></item>"
            )
        return (
            '<?xml version="1.0"?><rss version="2.0"><channel>'
            f"<title>Feed {feed}</title><description>edition {self.edition}</description>"
            + "".join(items)
            + "</channel></rss>"
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Figures:
    crawl: str
    seconds: float
    commits: int
    run_updates: int
    statements: int
    new: int
    duplicates: int


@contextmanager
def fresh_database(kind: str, workdir: Path, postgres: str | None) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        return
    assert postgres is not None
    with scratch_postgres(postgres, "bench_writes") as url:
        yield url


def run_variant(
    url: str, fixture: FixtureFeeds, *, batch: int, tree: Path, workdir: Path
) -> list[Figures]:
    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as session:
        ids = [
            queries.upsert_source(session=session, name=f"feed-{f}", url=f"{fixture.base}/{f}")[
                0
            ].id
            for f in range(fixture.feeds)
        ]
    out = []
    for label in ("new stories", "known entries, feed bytes changed"):
        fixture.edition += 1
        with unit_of_work(factory) as session:
            run_id = queries.create_crawl_run(session=session, source_id=None, trigger="bench").id
        env = {
            **os.environ,
            "SCRAPY_SETTINGS_MODULE": "crawler.settings",
            "PYTHONPATH": str(tree),
            "WIREWATCH_DATABASE_URL": url,
            "WIREWATCH_DATA_DIR": str(workdir),
            "WIREWATCH_ALLOW_PRIVATE_HOSTS": "127.0.0.1",
            "WIREWATCH_DOWNLOAD_DELAY": "0",
            "WIREWATCH_FOLLOW_ARTICLE_LINKS": "false",
            "WIREWATCH_STORE_BATCH_SIZE": str(batch),
            "WIREWATCH_LOG_LEVEL": "WARNING",
        }
        env.pop("WIREWATCH_CONFIG", None)
        started = time.perf_counter()
        args = json.dumps({"run_id": run_id, "source_ids": ",".join(map(str, ids))})
        done = subprocess.run(
            [sys.executable, "-c", CHILD, args],
            env=env,
            cwd=tree,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        line = [x for x in done.stdout.splitlines() if x.startswith("COUNTS ")]
        if done.returncode != 0 or not line:
            raise SystemExit(f"crawl failed ({done.returncode}):\n{done.stderr[-3000:]}")
        counts = json.loads(line[-1][len("COUNTS ") :])
        with factory() as session:
            run = queries.get_crawl_run(session=session, run_id=run_id)
            new, duplicates = run.new, run.duplicates
        out.append(
            Figures(
                label,
                seconds,
                counts["commits"],
                counts["run_updates"],
                counts["statements"],
                new,
                duplicates,
            )
        )
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=400)
    parser.add_argument("--feeds", type=int, default=8)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (database made)")
    parser.add_argument("--baseline-tree", type=Path, help="another checkout's crawl code")
    options = parser.parse_args()
    engines = ["sqlite"] + (["postgresql"] if options.postgres else [])
    variants: list[tuple[str, int, Path]] = [("batch 1", 1, ROOT), ("batch 20", 20, ROOT)]
    if options.baseline_tree:
        variants.insert(0, ("baseline tree", 20, options.baseline_tree.resolve()))
    fixture = FixtureFeeds(options.stories, options.feeds)
    print(f"{options.stories} stories in {options.feeds} feeds, crawled twice per variant")
    print(
        f"{'db':<10} {'variant':<14} {'crawl':<34} {'s':>6} {'commits':>8} "
        f"{'run upd':>8} {'stmts':>7} {'new':>5} {'dup':>5}"
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            for kind in engines:
                for name, batch, tree in variants:
                    with fresh_database(kind, workdir, options.postgres) as url:
                        for f in run_variant(url, fixture, batch=batch, tree=tree, workdir=workdir):
                            print(
                                f"{kind:<10} {name:<14} {f.crawl:<34} {f.seconds:>6.1f} "
                                f"{f.commits:>8} {f.run_updates:>8} {f.statements:>7} "
                                f"{f.new:>5} {f.duplicates:>5}"
                            )
    finally:
        fixture.close()


if __name__ == "__main__":
    main()
