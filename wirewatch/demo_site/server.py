"""The offline fixture news site: every outlet under its own prefix on one local port.

``FixtureSite`` runs it in background threads for tests and the demo;
``python -m wirewatch.demo_site.server`` runs it in the foreground and prints
``serving http://127.0.0.1:PORT`` on its first line, so a parent process can
read the address (the way Scrapy's own test mock server announces itself).

With ``faults=True`` the /_faults/ routes (see ``faults.py``) are on, and two
more listeners stand in for hosts whose robots.txt forbids everything or answers
503: robots.txt is per origin, so those need their own port.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from wirewatch.demo_site.content import OutletFiles, substitute
from wirewatch.demo_site.faults import ROBOTS_KINDS, Faults, RobotsKind
from wirewatch.demo_site.manifest import Manifest, load_manifest
from wirewatch.demo_site.responses import Response, Stream, http_date, not_modified, text
from wirewatch.demo_site.telegram_pages import TELEGRAM_PAGE_SIZE, before_of, page_of

HOST = "127.0.0.1"
TELEGRAM_PREFIX = "/telegram/s/"
IDLE_CONNECTION_TIMEOUT = 30.0


class _Router:
    """Maps a request on the main origin to a response; shared by all handler threads."""

    def __init__(self, manifest: Manifest, faults: Faults | None, telegram_page_size: int) -> None:
        self.files = OutletFiles(manifest)
        self.faults = faults
        self.manifest = manifest
        self.telegram_page_size = telegram_page_size
        self._started = time.time()

    def route(self, path: str, query: str, root_url: str) -> Response | Stream:
        if path == "/robots.txt":
            return self._robots()
        if path == "/":
            return self._index(root_url)
        if path == "/_faults" or path.startswith("/_faults/"):
            if self.faults is None:
                return text(404, "fault routes are off; start the server with faults enabled")
            return self.faults.handle(path.removeprefix("/_faults").lstrip("/"), query, root_url)
        if path.startswith(TELEGRAM_PREFIX):
            return self._telegram(path.removeprefix(TELEGRAM_PREFIX), query, root_url)
        slug, slash, rest = path.lstrip("/").partition("/")
        if self.files.outlet(slug) is None:
            return text(404, f"no outlet {slug!r} here; see {root_url}/")
        if not slash:
            return text(301, "moved", ("Location", f"{root_url}/{slug}/"))
        found = self.files.lookup(slug, rest, query)
        if found is None:
            return text(404, f"not found: {path}")
        data = substitute(found.path.read_bytes(), f"{root_url}/{slug}", root_url)
        return Response(200, data, found.content_type, last_modified=found.path.stat().st_mtime)

    def _telegram(self, channel: str, query: str, root_url: str) -> Response:
        """Channel previews shaped like https://t.me/s/<channel>, linking to the outlets."""
        if not channel.replace("_", "").isalnum():
            return text(404, f"no channel {channel!r}")
        page = self.manifest.root / "telegram" / "s" / f"{channel}.html"
        if not page.is_file():
            return text(404, f"no channel {channel!r}")
        html = page_of(
            page.read_text(encoding="utf-8"),
            channel,
            before=before_of(query),
            size=self.telegram_page_size,
        )
        data = substitute(html.encode("utf-8"), root_url, root_url)
        return Response(200, data, "text/html; charset=utf-8", last_modified=page.stat().st_mtime)

    def _robots(self) -> Response:
        lines = ["User-agent: *"]
        if self.faults is not None:
            lines.append("Disallow: /_faults/robots-disallow/")
        lines.append("Allow: /")
        body = ("\n".join(lines) + "\n").encode()
        return Response(200, body, last_modified=self._started)

    def _index(self, root_url: str) -> Response:
        rows = "".join(
            f'<li><a href="{o.base_url(root_url)}/">{escape(o.name)}</a> ({o.language}) — '
            f'<a href="{o.feed_url(root_url)}">{o.feed_format} feed</a></li>\n'
            for o in self.manifest.outlets
        )
        body = (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>Fixture news site</title></head><body><h1>Fixture news site</h1>\n"
            f"<ul>\n{rows}</ul></body></html>\n"
        ).encode()
        return Response(200, body, "text/html; charset=utf-8", last_modified=self._started)


class _Server(ThreadingHTTPServer):
    """One listener; tracks open connections so ``stop()`` can cut idle keep-alives."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, site: FixtureSite, robots_kind: RobotsKind | None, port: int = 0) -> None:
        super().__init__((HOST, port), _Handler)
        self.site = site
        self.robots_kind = robots_kind
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        with self._connections_lock:
            self._connections.add(conn)
        return conn, address

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FixtureNews/1.0"
    sys_version = ""
    timeout = IDLE_CONNECTION_TIMEOUT
    # Headers and body go out in separate writes; with Nagle on, the body waits for
    # the client's delayed ACK (~40 ms a response on Linux loopback).
    disable_nagle_algorithm = True
    server: _Server
    _logged_path = ""

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.site.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _serve(self, head: bool) -> None:
        site = self.server.site
        parts = urlsplit(self.path)
        kind = self.server.robots_kind
        if kind is not None and site.faults is not None:
            self._logged_path = f"/_faults/{kind}{self.path}"
            result = site.faults.robots_host(kind, parts.path, self.server.url)
        else:
            self._logged_path = self.path
            result = site.router.route(parts.path, parts.query, self.server.url)
        if isinstance(result, Stream):
            self._send_stream(result, head)
        else:
            self._send_response(result, head)

    def _start(self, status: int, headers: list[tuple[str, str]]) -> None:
        # Logged before the client can see the answer, so a test that has its
        # response always finds the entry.
        self.server.site.record(self.command, self._logged_path, status)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()

    def _send_response(self, response: Response, head: bool) -> None:
        status = response.status
        headers = list(response.headers)
        if response.content_type:
            headers.append(("Content-Type", response.content_type))
        body = response.body
        if status == 200 and response.last_modified is not None:
            headers += [
                ("ETag", response.etag),
                ("Last-Modified", http_date(response.last_modified)),
            ]
            conditions = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
            if not_modified(*conditions, response):
                status, body = 304, b""
                headers = [h for h in headers if h[0] not in ("Content-Type", "Content-Encoding")]
        if status != 304:  # a 304's Content-Length would have to describe the unsent body
            headers.append(("Content-Length", str(len(body))))
        self._start(status, headers)
        if not head and body:
            self.wfile.write(body)

    def _send_stream(self, stream: Stream, head: bool) -> None:
        self._start(stream.status, [*stream.headers, ("Connection", "close")])
        self.close_connection = True
        if head:
            return
        try:
            stream.write(self.wfile, self.server.site.stopping)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the client gave up first, which is what these routes test


class FixtureSite:
    """The fixture news site on 127.0.0.1, on a free port, in background threads.

    Use as a context manager, or call ``start()`` and ``stop()``.
    ``request_log`` records ``(method, path, status)`` for every answered request.
    """

    def __init__(
        self,
        root: Path | None = None,
        faults: bool = False,
        *,
        port: int = 0,
        telegram_page_size: int = TELEGRAM_PAGE_SIZE,
    ) -> None:
        self.port = port
        self.manifest = load_manifest(root)
        self.stopping = threading.Event()
        self.faults = Faults(self.manifest, self.stopping) if faults else None
        self.router = _Router(self.manifest, self.faults, telegram_page_size)
        self.request_log: list[tuple[str, str, int]] = []
        self.verbose = False
        self._log_lock = threading.Lock()
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self._origins: dict[str, str] = {}

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``; only known once the server has started."""
        if not self._servers:
            raise RuntimeError("FixtureSite has no address until start() is called")
        return self._servers[0].url

    def feed_url(self, outlet_slug: str) -> str:
        return self.manifest.outlet(outlet_slug).feed_url(self.base_url)

    def fault_origin(self, kind: RobotsKind) -> str:
        """Root URL of the extra host whose robots.txt disallows all or answers 503."""
        if kind not in self._origins:
            raise RuntimeError(f"no {kind!r} host: start FixtureSite(faults=True) first")
        return self._origins[kind]

    def record(self, method: str, path: str, status: int) -> None:
        with self._log_lock:
            self.request_log.append((method, path, status))

    def start(self) -> None:
        if self._servers:
            raise RuntimeError(f"FixtureSite is already serving at {self.base_url}")
        self.stopping.clear()
        kinds: list[RobotsKind | None] = [None]
        if self.faults is not None:
            self.faults.warm_up()
            kinds += list(ROBOTS_KINDS)
        for kind in kinds:
            server = _Server(self, kind, self.port if kind is None else 0)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fixture-site-{kind or 'main'}",
                daemon=True,
            )
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
            if kind is not None:
                self._origins[kind] = server.url

    def stop(self) -> None:
        self.stopping.set()
        for server in self._servers:
            server.shutdown()
            server.drop_connections()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()
        self._origins.clear()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m wirewatch.demo_site.server",
        description="Serve the offline fixture news site on 127.0.0.1 until killed.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free)")
    parser.add_argument("--faults", action="store_true", help="also serve the /_faults/ routes")
    parser.add_argument("--root", type=Path, default=None, help="sites folder with manifest.yaml")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Print ``serving http://127.0.0.1:PORT`` then serve until SIGINT or SIGTERM."""
    args = _parse_args(argv)
    site = FixtureSite(args.root, faults=args.faults, port=args.port)
    site.verbose = args.verbose
    site.start()
    print(f"serving {site.base_url}", flush=True)
    for kind in ROBOTS_KINDS if args.faults else ():
        print(f"{kind} {site.fault_origin(kind)}", flush=True)

    def _terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _terminate)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()


if __name__ == "__main__":
    main()
