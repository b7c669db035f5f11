"""Routes under /_faults/: broken, slow, hostile and changing responses for tests.

Every wait is bounded (``MAX_WAIT_SECONDS``) and wakes early when the server
stops, so a test that forgets a client timeout still ends.

=============================================  =========================================
route                                          behaviour
=============================================  =========================================
``malformed.xml``                              RSS with bare ``&``, unclosed tags; items salvageable
``status/<code>[?retry_after=N]``              that 4xx/5xx status, with Retry-After when given
``slow?seconds=N``                             waits N s (≤ 30), then a small valid feed
``stall-after-headers[?seconds=N]``            headers (Content-Length 2048), then silence, then close
``partial``                                    Content-Length 1024, 16 bytes, close
``redirect?to=URL[&code=30x]``                 redirect to URL (302 by default)
``redirect-loop``                              two URLs redirecting to each other forever
``gzip-bomb``                                  ~100 KB gzip body inflating to 100 MiB
``huge[?mb=N][&no_length=1]``                  streams N MiB (default 20, ≤ 64) of feed
``robots-disallow/…``                          robots.txt ``Disallow: /``, feed.xml, story-{1,2}.html
``robots-503/…``                               robots.txt answers 503, same pages
``billion-laughs.xml``                         nested-entity expansion bomb
``xxe.xml?path=/abs/file``                     external entities: that file and the canary URL
``xxe-canary``                                 answers 200; any request here means XXE resolved
``xss.xml``                                    script, onerror, javascript:, iframe, svg payloads
``cp1251-as-utf8.xml``                         windows-1251 bytes declared (and served) as UTF-8
``changing.xml?key=K``                         one item whose text changes with every request
``changing/story.html?key=K``                  the page for that item at its current version
=============================================  =========================================
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from io import BufferedIOBase
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs

from wirewatch.demo_site import fault_payloads as payloads
from wirewatch.demo_site.manifest import Manifest, Story
from wirewatch.demo_site.responses import Response, Stream, text

MAX_WAIT_SECONDS = 30.0
PARTIAL_DECLARED = 1024
STALL_DECLARED = 2048
HUGE_DEFAULT_MB = 20
HUGE_MAX_MB = 64
RSS = "application/rss+xml; charset=utf-8"
HTML = "text/html; charset=utf-8"
RobotsKind = Literal["robots-disallow", "robots-503"]
ROBOTS_KINDS: tuple[RobotsKind, ...] = ("robots-disallow", "robots-503")

Result = Response | Stream
_Route = Callable[[Mapping[str, str], str], Result]


class Faults:
    """Answers one /_faults/ request; holds the per-server counters and the stop signal."""

    def __init__(self, manifest: Manifest, stop: threading.Event) -> None:
        self._stop = stop
        self._started = time.time()
        self._lock = threading.Lock()
        self._versions: dict[str, int] = {}
        # Off-beat stories, so fault feeds never change what a topic should match.
        self._sample: list[Story] = [s for s in manifest.stories() if not s.on_beat][:3]
        self._routes: dict[str, _Route] = {
            "": self._index,
            "malformed.xml": lambda q, root: self._doc(
                payloads.malformed_feed(root, self._sample), RSS
            ),
            "slow": self._slow,
            "stall-after-headers": self._stall,
            "partial": self._partial,
            "redirect": self._redirect,
            "redirect-loop": self._redirect_loop,
            "gzip-bomb": self._gzip_bomb,
            "huge": self._huge,
            "billion-laughs.xml": lambda q, root: self._doc(payloads.billion_laughs(), RSS),
            "xxe.xml": self._xxe,
            "xxe-canary": lambda q, root: text(200, "xxe canary"),
            "xss.xml": lambda q, root: self._doc(payloads.xss_feed(root, self._sample), RSS),
            "cp1251-as-utf8.xml": self._cp1251,
            "changing.xml": self._changing_feed,
            "changing/story.html": self._changing_page,
        }

    def handle(self, route: str, query: str, root_url: str) -> Result:
        """``route`` is the path after ``/_faults/``."""
        params = {name: values[-1] for name, values in parse_qs(query).items()}
        head, _, rest = route.partition("/")
        if head == "status":
            return self._status(rest, params)
        if head in ROBOTS_KINDS:
            return self.robots_host(head, "/" + rest, f"{root_url}/_faults/{head}")
        handler = self._routes.get(route)
        if handler is None:
            return text(404, f"no fault route /_faults/{route}")
        return handler(params, root_url)

    def robots_host(self, kind: str, path: str, base_url: str) -> Result:
        """A small site whose robots.txt forbids everything or answers 503."""
        if path == "/robots.txt":
            if kind == "robots-503":
                return text(503, "robots.txt temporarily unavailable", ("Retry-After", "3600"))
            return self._doc(b"User-agent: *\nDisallow: /\n", "text/plain; charset=utf-8")
        if path == "/feed.xml":
            return self._doc(payloads.robots_feed(base_url), RSS)
        for number in (1, 2):
            if path == f"/story-{number}.html":
                return self._doc(payloads.robots_page(number), HTML)
        return text(404, f"nothing at {path} on the {kind} host")

    def warm_up(self) -> None:
        """Build the expensive payloads now rather than inside a timed request."""
        payloads.gzip_bomb()

    # -- routes -------------------------------------------------------------------------

    def _doc(self, body: bytes, content_type: str) -> Response:
        return Response(200, body, content_type, last_modified=self._started)

    def _index(self, params: Mapping[str, str], root_url: str) -> Result:
        lines = [f"{root_url}/_faults/{name}" for name in self._routes if name]
        lines += [f"{root_url}/_faults/status/500", f"{root_url}/_faults/robots-disallow/"]
        return text(200, "\n".join(lines))

    def _status(self, code_text: str, params: Mapping[str, str]) -> Result:
        if not code_text.isdigit() or not 400 <= int(code_text) <= 599:
            return text(404, f"status route takes a code from 400 to 599, not {code_text!r}")
        headers: tuple[tuple[str, str], ...] = ()
        if "retry_after" in params:
            headers = (("Retry-After", params["retry_after"]),)
        return text(int(code_text), f"status {code_text} on purpose", *headers)

    def _slow(self, params: Mapping[str, str], root_url: str) -> Result:
        self._stop.wait(_seconds(params, default=5.0))
        return self._doc(payloads.small_feed(root_url, "Slow feed", self._sample[:1]), RSS)

    def _stall(self, params: Mapping[str, str], root_url: str) -> Result:
        seconds = _seconds(params, default=MAX_WAIT_SECONDS)

        def write(out: BufferedIOBase, stop: threading.Event) -> None:
            out.flush()
            stop.wait(seconds)

        headers = (("Content-Type", RSS), ("Content-Length", str(STALL_DECLARED)))
        return Stream(200, headers, write)

    def _partial(self, params: Mapping[str, str], root_url: str) -> Result:
        def write(out: BufferedIOBase, stop: threading.Event) -> None:
            out.write(b'<?xml version="1')  # 16 of the 1024 bytes promised

        headers = (("Content-Type", RSS), ("Content-Length", str(PARTIAL_DECLARED)))
        return Stream(200, headers, write)

    def _redirect(self, params: Mapping[str, str], root_url: str) -> Result:
        target = params.get("to")
        if not target:
            return text(400, "redirect needs ?to=URL")
        code = params.get("code", "302")
        if code not in ("301", "302", "303", "307", "308"):
            return text(400, f"redirect code must be 301, 302, 303, 307 or 308, not {code!r}")
        return text(int(code), f"see {target}", ("Location", target))

    def _redirect_loop(self, params: Mapping[str, str], root_url: str) -> Result:
        here = f"{root_url}/_faults/redirect-loop"
        target = here if params.get("via") == "b" else f"{here}?via=b"
        return text(302, f"see {target}", ("Location", target))

    def _gzip_bomb(self, params: Mapping[str, str], root_url: str) -> Result:
        return Response(
            200,
            payloads.gzip_bomb(),
            RSS,
            headers=(("Content-Encoding", "gzip"),),
            last_modified=self._started,
        )

    def _huge(self, params: Mapping[str, str], root_url: str) -> Result:
        megabytes = HUGE_DEFAULT_MB
        if params.get("mb", "").isdigit():
            megabytes = max(1, min(HUGE_MAX_MB, int(params["mb"])))
        total = megabytes * 1024 * 1024
        item = f"<item><title>Filler</title><link>{root_url}/</link></item>\n".encode()
        chunk = (item * (65536 // len(item) + 1))[:65536]
        opening = b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>\n'

        def write(out: BufferedIOBase, stop: threading.Event) -> None:
            out.write(opening)
            sent = len(opening)
            while sent < total and not stop.is_set():
                piece = chunk[: total - sent]
                out.write(piece)
                sent += len(piece)

        headers: tuple[tuple[str, str], ...] = (("Content-Type", RSS),)
        if params.get("no_length") != "1":
            headers += (("Content-Length", str(total)),)
        return Stream(200, headers, write)

    def _xxe(self, params: Mapping[str, str], root_url: str) -> Result:
        path = Path(params.get("path", "/etc/hostname"))
        if not path.is_absolute():
            return text(400, f"xxe.xml needs an absolute ?path=, not {str(path)!r}")
        return self._doc(payloads.xxe_feed(root_url, path), RSS)

    def _cp1251(self, params: Mapping[str, str], root_url: str) -> Result:
        russian = [s for s in self._sample if _cp1251_only(s.title)][:2]
        return self._doc(payloads.cp1251_declared_utf8(root_url, russian), RSS)

    def _changing_feed(self, params: Mapping[str, str], root_url: str) -> Result:
        key = params.get("key", "default")
        with self._lock:
            version = self._versions.get(key, 0) + 1
            self._versions[key] = version
        now = time.time()
        body = payloads.changing_feed(root_url, key, version, now)
        return Response(200, body, RSS, last_modified=now)

    def _changing_page(self, params: Mapping[str, str], root_url: str) -> Result:
        key = params.get("key", "default")
        with self._lock:
            version = self._versions.get(key, 0)
        return Response(200, payloads.changing_page(key, version), HTML, last_modified=time.time())


def _cp1251_only(title: str) -> bool:
    """True for text that windows-1251 can carry and that is not plain ASCII."""
    try:
        title.encode("cp1251")
    except UnicodeEncodeError:
        return False
    return not title.isascii()


def _seconds(params: Mapping[str, str], default: float) -> float:
    try:
        value = float(params.get("seconds", default))
    except ValueError:
        value = default
    return max(0.0, min(MAX_WAIT_SECONDS, value))
