"""A small news site on 127.0.0.1 serving the pages a test gives it, and logging requests.

Each instance is its own origin (host and port), so robots.txt, sitemaps and
"another outlet's host" are real. Pages are set per path (query string
included when given) and may be replaced between crawls.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Newsroom:
    pages: dict[str, Page] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    base_url: str = ""

    def put(
        self,
        path: str,
        body: str | bytes,
        content_type: str = "text/html; charset=utf-8",
        status: int = 200,
        **headers: str,
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.pages[path] = Page(data, content_type, status, dict(headers))

    def requested(self, prefix: str) -> list[str]:
        return [r for r in self.requests if r.startswith(prefix)]


@contextmanager
def newsroom() -> Iterator[Newsroom]:
    site = Newsroom()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                site.requests.append(self.path)
            parts = urlsplit(self.path)
            page = site.pages.get(self.path) or site.pages.get(parts.path)
            if page is None:
                page = Page(b"not found", "text/plain", 404)
            self.send_response(page.status)
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(page.body)))
            for name, value in page.headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(page.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
