"""The crawl benchmark's site: feeds linking real-size news pages, served on loopback.

The shared article-extraction pages are served under many URLs, each copy made
unique (every third word of its visible text replaced, deterministically by
copy number, and the copy number put in its title), so near-duplicate
detection sees distinct stories, as in a real crawl. Each feed gets its own
loopback address (127.0.0.N), so politeness per host applies per feed as it
would per site.
"""

from __future__ import annotations

import random
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

from bench.extraction.corpus import load_pages

_CODE = re.compile(rb"(<script.*?</script>|<style.*?</style>)", re.DOTALL | re.IGNORECASE)
_TEXT = re.compile(rb">([^<]{40,})<")
_TITLE = re.compile(rb"<title>", re.IGNORECASE)
_VOCABULARY = (
    b"harbour council budget river minister school strike court ruling storm coast farmers "
    b"drought prices market election bridge hospital union police inquiry museum festival "
    b"airport railway mayor housing factory energy league village library flood ferry"
).split()


def unique_copy(html: bytes, copy: int) -> bytes:
    """The page with its visible text altered by copy number (scripts and styles kept)."""
    rng = random.Random(copy)

    def alter(match: re.Match[bytes]) -> bytes:
        words = match.group(1).split(b" ")
        for i in range(rng.randrange(3), len(words), 3):
            words[i] = rng.choice(_VOCABULARY)
        return b">" + b" ".join(words) + b"<"

    parts = _CODE.split(html)
    out = [part if i % 2 else _TEXT.sub(alter, part) for i, part in enumerate(parts)]
    return _TITLE.sub(f"<title>{copy} ".encode(), b"".join(out), count=1)


@dataclass(frozen=True)
class Layout:
    feeds: int
    pages: int

    def host(self, feed: int) -> str:
        return f"127.0.0.{feed + 2}"

    def pages_of(self, feed: int) -> range:
        return range(feed, self.pages, self.feeds)


def feed_xml(base: str, feed: int, copies: range, titles: list[str]) -> bytes:
    items = "".join(
        f"<item><title>{escape(f'{copy} {titles[copy % len(titles)]}')}</title>"
        f"<link>{base}/article/{copy}</link><guid>{base}/article/{copy}</guid>"
        f"<description>Story {copy} of feed {feed}.</description></item>"
        for copy in copies
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel>'
        f"<title>Feed {feed}</title><link>{base}/</link><description>bench</description>"
        f"{items}</channel></rss>"
    ).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A crawler closing its keep-alive connections at the end is no error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class BenchSite:
    """Serves feed N on 127.0.0.(N+2): /feed.xml and /article/COPY."""

    def __init__(self, layout: Layout, directory: Path) -> None:
        """Writes every copy under *directory* first, so serving costs no CPU to speak of."""
        self.layout = layout
        self.directory = directory
        originals = [page.html for page in load_pages()]
        self.titles = [f"news page {i}" for i in range(len(originals))]
        for copy in range(layout.pages):
            path = directory / f"{copy}.html"
            if not path.exists():
                path.write_bytes(unique_copy(originals[copy % len(originals)], copy))
        self.servers: list[_Server] = []
        self.port = 0

    def feed_urls(self) -> list[str]:
        return [
            f"http://{self.layout.host(f)}:{self.port}/feed.xml" for f in range(self.layout.feeds)
        ]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                host, _, _port = (self.headers.get("Host") or "").partition(":")
                feed = int(host.rsplit(".", 1)[-1]) - 2
                if self.path == "/feed.xml":
                    base = f"http://{host}:{site.port}"
                    body = feed_xml(base, feed, site.layout.pages_of(feed), site.titles)
                    kind = "application/rss+xml"
                elif self.path.startswith("/article/"):
                    copy = int(self.path.rsplit("/", 1)[-1])
                    body = (site.directory / f"{copy}.html").read_bytes()
                    kind = "text/html; charset=utf-8"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    @contextmanager
    def serving(self) -> Iterator[BenchSite]:
        handler = self._handler()
        first = _Server((self.layout.host(0), 0), handler)
        self.port = first.server_address[1]
        self.servers = [first] + [
            _Server((self.layout.host(f), self.port), handler) for f in range(1, self.layout.feeds)
        ]
        for server in self.servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield self
        finally:
            for server in self.servers:
                server.shutdown()
                server.server_close()
