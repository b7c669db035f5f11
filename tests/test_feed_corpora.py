"""The feed spider over real-world and hostile feeds: no crash, every well-formed item stored once.

The feeds of ../shared/corpora/feeds/ (feedparser's own test suite: ill-formed
XML, encodings, XSS) and ../shared/corpora/news/feeds/ (real outlets) are
served by a local HTTP server; one source per file. Article links point at the
real outlets, so article fetching is off: the feed's own text is stored.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.settings import Settings
from crawler.feeds import parse_feed
from crawler.runner import settle, start_crawl
from crawler.urls import canonicalize_url
from db import queries
from db.models import Story
from db.session import make_engine, make_sessionmaker, unit_of_work
from tests.conftest import CORPORA

pytestmark = pytest.mark.slow


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def corpus_server() -> Iterator[str]:
    if not CORPORA.is_dir():
        pytest.skip("shared corpora not found beside the checkout")
    handler = functools.partial(_QuietHandler, directory=str(CORPORA))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _feed_files() -> list[Path]:
    found: list[Path] = []
    for folder in (CORPORA / "feeds", CORPORA / "news" / "feeds"):
        if folder.is_dir():
            found += sorted(
                p
                for p in folder.rglob("*")
                if p.is_file() and p.suffix in (".xml", ".rdf", ".atom", ".rss")
            )
    return found


def test_every_well_formed_item_is_stored_once(
    corpus_server: str, tmp_path: Path, database_url: str
) -> None:
    files = _feed_files()
    assert len(files) > 100
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        allow_private_hosts=["127.0.0.1"],
        follow_article_links=False,
        download_delay=0,
        obey_robots_txt=False,
    )
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    expected: set[str] = set()
    with unit_of_work(factory) as session:
        for number, path in enumerate(files):
            url = f"{corpus_server}/{path.relative_to(CORPORA).as_posix()}"
            queries.upsert_source(session=session, name=f"feed-{number}", url=url)
            for entry in parse_feed(path.read_bytes(), base_url=url).entries:
                if entry.title.strip() or (entry.content or entry.summary).strip():
                    expected.add(canonicalize_url(entry.link))
    handle = start_crawl(settings, factory, crawl_all=True, trigger="test")
    handle.wait(timeout=600)
    run = settle(factory, handle)
    log = handle.log_path.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log, log[-3000:]
    assert run.sources_done == len(files)
    with factory() as session:
        stored = [s.canonical_url for s in session.scalars(select(Story))]
    engine.dispose()
    assert len(stored) == len(set(stored))
    assert set(stored) == expected
    assert len(expected) > 500
