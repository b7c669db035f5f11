"""URL/address policy and the guarded HTTP client, against real servers on loopback.

`LocalSite` is a tiny threaded HTTP server on 127.0.0.x port 0 with scripted
routes and a log of every request it saw; the Scrapy crawl tests use it too.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import pytest

from core.errors import BlockedURLError, ConfigError
from core.netguard import (
    AddressPolicy,
    check_scheme_only,
    check_url,
    guarded_client,
    non_public_reason,
    vet_host,
)
from core.settings import Settings
from crawler.middlewares import AddressRefusedError, refusals, safety_settings, vetted_ipv4

MiB = 1024 * 1024
STALL_LIMIT = 15.0  # no handler ever blocks longer than this

# --- a real local server ------------------------------------------------------------------

Route = Callable[[BaseHTTPRequestHandler, "LocalSite"], None]


@dataclass
class Hit:
    at: float
    path: str
    headers: dict[str, str]


@dataclass
class LocalSite:
    """An HTTP/1.0 server whose paths are answered by *routes*; unknown paths get 404."""

    routes: dict[str, Route]
    host: str = "127.0.0.1"
    hits: list[Hit] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                headers = {k.lower(): v for k, v in self.headers.items()}
                site.hits.append(Hit(time.monotonic(), self.path, headers))
                route = site.routes.get(path)
                if route is None:
                    send(self, 404, b"not here")
                else:
                    route(self, site)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((self.host, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def paths(self) -> list[str]:
        return [hit.path for hit in self.hits]

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    length: bool = True,
) -> None:
    handler.send_response(status)
    all_headers = {"Content-Type": "text/html; charset=utf-8", **(headers or {})}
    if length:
        all_headers["Content-Length"] = str(len(body))
    for name, value in all_headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    with contextlib.suppress(OSError):  # the client gave up, as several tests want
        handler.wfile.write(body)


def page(body: bytes = b"<html><body>hello</body></html>", **headers: str) -> Route:
    return lambda h, site: send(h, 200, body, headers)


def redirect(location: str | Callable[[], str], status: int = 302) -> Route:
    def route(h: BaseHTTPRequestHandler, site: LocalSite) -> None:
        target = location() if callable(location) else location
        send(h, status, b"", {"Location": target})

    return route


def stream(total: int, chunk: int = 64 * 1024) -> Route:
    """A body of *total* bytes with no Content-Length, written as fast as the client reads."""

    def route(h: BaseHTTPRequestHandler, site: LocalSite) -> None:
        send(h, 200, b"", {"Content-Type": "application/octet-stream"}, length=False)
        block = b"x" * chunk
        sent = 0
        try:
            while sent < total and not site.stop.is_set():
                h.wfile.write(block)
                sent += chunk
        except OSError:
            return

    return route


def stall(first: bytes = b"<html>", declared: int = 1000, trickle: float = 0.0) -> Route:
    """Headers and a little body, then silence (or one byte per *trickle* s), bounded."""

    def route(h: BaseHTTPRequestHandler, site: LocalSite) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(declared))
        h.end_headers()
        deadline = time.monotonic() + STALL_LIMIT
        try:
            h.wfile.write(first)
            h.wfile.flush()
            while time.monotonic() < deadline and not site.stop.is_set():
                if trickle:
                    site.stop.wait(trickle)
                    h.wfile.write(b"x")
                    h.wfile.flush()
                else:
                    site.stop.wait(0.1)
        except OSError:
            return

    return route


def partial(h: BaseHTTPRequestHandler, site: LocalSite) -> None:
    """Promises 1024 bytes, sends 16, hangs up."""
    h.send_response(200)
    h.send_header("Content-Length", "1024")
    h.end_headers()
    h.wfile.write(b"<html>0123456789")
    h.close_connection = True


def gzip_bomb(decompressed: int) -> bytes:
    """Concatenated gzip members of 1 MiB of zeros each: about 1 KiB per MiB on the wire."""
    member = gzip.compress(bytes(MiB), compresslevel=9)
    return member * (decompressed // MiB)


@contextlib.contextmanager
def local_sites() -> Iterator[Callable[..., LocalSite]]:
    """Start sites on demand; all of them stop when the block ends."""
    started: list[LocalSite] = []

    def make(routes: dict[str, Route], host: str = "127.0.0.1") -> LocalSite:
        try:
            site = LocalSite(routes, host=host).__enter__()
        except OSError as exc:
            pytest.skip(f"cannot listen on {host}: {exc}")
        started.append(site)
        return site

    try:
        yield make
    finally:
        for site in started:
            site.__exit__(None, None, None)


@pytest.fixture
def site_factory() -> Iterator[Callable[..., LocalSite]]:
    with local_sites() as make:
        yield make


# --- stub resolvers -----------------------------------------------------------------------


def stub_resolver(
    table: dict[str, Sequence[str] | Sequence[Sequence[str]]],
) -> Callable[[str, int | None], list[tuple[Any, ...]]]:
    """getaddrinfo for made-up names; a list of lists answers differently on each call."""
    calls: dict[str, int] = {}

    def resolve(host: str, port: int | None) -> list[tuple[Any, ...]]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not in the stub table")
        answers = table[host]
        n = calls.get(host, 0)
        calls[host] = n + 1
        answer: Sequence[str]
        if answers and not isinstance(answers[0], str):
            answer = answers[min(n, len(answers) - 1)]
        else:
            answer = answers  # type: ignore[assignment]
        return [
            (
                socket.AF_INET6 if ":" in ip else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (ip, port or 0),
            )
            for ip in answer
        ]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


NO_ALLOW = AddressPolicy()
STUB = stub_resolver(
    {
        "intranet.test": ["10.0.0.5"],
        "multi.test": ["8.8.8.8", "127.0.0.1"],
        "dual.test": ["93.184.216.34", "fd00::1"],
        "mapped.test": ["::ffff:10.1.2.3"],
        "metadata.test": ["169.254.169.254"],
        "cgnat.test": ["100.64.7.7"],
        "public.test": ["8.8.8.8", "2606:4700::1111"],
        "localhost": ["127.0.0.1", "::1"],
    }
)


# --- the policy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "why"),
    [
        # private targets written plainly
        ("http://127.0.0.1:8080/", "loopback"),
        ("http://localhost/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://10.0.0.1/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fc00::1]/", "private"),
        # the same targets in other spellings
        ("http://2130706433/", "resolves to 127.0.0.1"),
        ("http://0x7f.1/", "resolves to 127.0.0.1"),
        ("http://017700000001/", "resolves to 127.0.0.1"),
        ("http://127.1/", "resolves to 127.0.0.1"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:169.254.169.254]/", "metadata"),
        ("http://[2002:7f00:1::]/", "embedding 127.0.0.1"),
        ("http://[::7f00:1]/", "reserved"),
        ("HTTP://LOCALHOST./", "loopback"),
        # names whose records are private (stub DNS)
        ("http://intranet.test/", "resolves to 10.0.0.5"),
        ("http://multi.test/", "resolves to 127.0.0.1"),
        ("http://dual.test/", "resolves to fd00::1"),
        ("http://mapped.test/", "resolves to 10.1.2.3"),
        ("http://metadata.test/", "metadata"),
        ("http://cgnat.test/", "carrier-grade NAT"),
        # schemes
        ("file:///etc/passwd", "file: is not allowed"),
        ("file:/etc/passwd", "file: is not allowed"),
        ("ftp://example.com/x", "ftp: is not allowed"),
        ("s3://bucket/key", "s3: is not allowed"),
        ("data:text/html,<b>hi</b>", "data: is not allowed"),
        ("gopher://example.com:70/", "gopher: is not allowed"),
        ("javascript:alert(1)", "javascript: is not allowed"),
        ("//example.com/x", "no scheme"),
        ("/etc/passwd", "no scheme"),
        ("http:///path", "no host"),
        ("http://example.com:99999/", "does not parse"),
    ],
)
def test_blocked_urls(url: str, why: str) -> None:
    def resolve(host: str, port: int | None) -> list[tuple[Any, ...]]:
        if host.endswith(".test") or host == "localhost":
            return STUB(host, port)
        return socket.getaddrinfo(host, port)  # numeric spellings only: no DNS traffic

    with pytest.raises(BlockedURLError) as caught:
        check_url(url, NO_ALLOW, resolve=resolve)
    assert why in caught.value.reason
    assert caught.value.url == url


def test_public_hosts_pass() -> None:
    check_url("https://public.test/news?id=7", NO_ALLOW, resolve=STUB)
    check_url("http://8.8.8.8/", NO_ALLOW)
    check_url("http://[::ffff:8.8.8.8]/", NO_ALLOW)


@pytest.mark.parametrize(
    ("allow", "url", "allowed"),
    [
        (["localhost"], "http://localhost:8000/", True),
        (["LOCALHOST."], "http://localhost/", True),
        (["localhost"], "http://127.0.0.1/", False),  # names match as written, not by address
        (["127.0.0.1"], "http://127.0.0.1/", True),
        (["127.0.0.1"], "http://127.1/", True),  # matched on the resolved address
        (["127.0.0.1"], "http://127.0.0.2/", False),
        (["127.0.0.1"], "http://localhost/", False),  # ::1 is another address
        (["10.0.0.0/8"], "http://intranet.test/", True),
        (["10.0.0.0/8"], "http://mapped.test/", True),
        (["10.0.0.0/8"], "http://multi.test/", False),
        (["10.0.0.0/8"], "file:///etc/passwd", False),  # no allow-list entry opens other schemes
    ],
)
def test_allow_list(allow: list[str], url: str, allowed: bool) -> None:
    policy = AddressPolicy(allow)

    def resolve(host: str, port: int | None) -> list[tuple[Any, ...]]:
        if host.endswith(".test") or host == "localhost":
            return STUB(host, port)
        return socket.getaddrinfo(host, port)

    if allowed:
        check_url(url, policy, resolve=resolve)
    else:
        with pytest.raises(BlockedURLError):
            check_url(url, policy, resolve=resolve)


@pytest.mark.parametrize("entry", ["http://localhost/", "10.0.0.0/33", "bad host", "a/b"])
def test_malformed_allow_entry_is_a_config_error(entry: str) -> None:
    with pytest.raises(ConfigError, match="allow_private_hosts"):
        AddressPolicy([entry])


def test_policy_from_settings() -> None:
    policy = AddressPolicy.from_settings(
        Settings(allow_private_hosts=["fixtures.local", "127.0.0.1"])
    )
    assert policy.allows_host("Fixtures.Local.")
    check_url("http://127.1/", policy)


def test_unresolvable_host_is_refused_with_the_reason() -> None:
    with pytest.raises(BlockedURLError, match="does not resolve"):
        check_url("http://nowhere.test/", NO_ALLOW, resolve=stub_resolver({}))


@pytest.mark.parametrize("url", ["http://example.com/a", "https://example.com:8443/b?c#d"])
def test_scheme_only_accepts_http(url: str) -> None:
    check_scheme_only(url)


@pytest.mark.parametrize("url", ["mailto:a@b.c", "file:/x", "javascript:void(0)", "data:,x", "x"])
def test_scheme_only_refuses_the_rest(url: str) -> None:
    with pytest.raises(BlockedURLError):
        check_scheme_only(url)


def test_reason_is_none_only_for_public_addresses() -> None:
    import ipaddress

    assert non_public_reason(ipaddress.ip_address("1.1.1.1")) is None
    assert non_public_reason(ipaddress.ip_address("2606:4700::1111")) is None
    assert non_public_reason(ipaddress.ip_address("::ffff:1.1.1.1")) is None
    assert non_public_reason(ipaddress.ip_address("192.0.2.1")) is not None  # documentation


def test_each_lookup_is_vetted_so_rebinding_is_caught() -> None:
    """The first answer is public, the next private: the second vetting must refuse."""
    resolve = stub_resolver({"rebind.test": [["8.8.8.8"], ["127.0.0.1"]]})
    assert [str(ip) for ip in vet_host("rebind.test", NO_ALLOW, resolve=resolve)] == ["8.8.8.8"]
    with pytest.raises(BlockedURLError, match=r"127\.0\.0\.1"):
        vet_host("rebind.test", NO_ALLOW, resolve=resolve)


def test_scrapy_resolver_answer_is_vetted_ipv4() -> None:
    from twisted.internet.error import DNSLookupError

    assert vetted_ipv4("public.test", NO_ALLOW, STUB) == "8.8.8.8"
    with pytest.raises(AddressRefusedError, match=r"127\.0\.0\.1"):
        vetted_ipv4("multi.test", NO_ALLOW, STUB)
    assert "127.0.0.1" in (refusals.reason("MULTI.test") or "")
    with pytest.raises(DNSLookupError, match="no IPv4"):
        vetted_ipv4("v6only.test", NO_ALLOW, stub_resolver({"v6only.test": ["2606:4700::1"]}))
    with pytest.raises(DNSLookupError, match="not found"):
        vetted_ipv4("nowhere.test", NO_ALLOW, stub_resolver({}))


def test_safety_settings_follow_wirewatch_settings() -> None:
    settings = Settings(
        allow_private_hosts=["127.0.0.1"],
        download_max_bytes=5 * MiB,
        download_warn_bytes=MiB,
        max_redirects=3,
        download_timeout=12.0,
    )
    scrapy_settings = safety_settings(settings)
    handlers = scrapy_settings["DOWNLOAD_HANDLERS"]
    assert all(handlers[scheme] is None for scheme in ("file", "data", "ftp", "s3"))
    assert scrapy_settings["DOWNLOAD_MAXSIZE"] == 5 * MiB
    assert scrapy_settings["DOWNLOAD_WARNSIZE"] == MiB
    assert scrapy_settings["REDIRECT_MAX_TIMES"] == 3
    assert scrapy_settings["DOWNLOAD_TIMEOUT"] == 12.0
    assert scrapy_settings["CONCURRENT_REQUESTS_PER_DOMAIN"] == 1
    assert scrapy_settings["WIREWATCH_ALLOW_PRIVATE_HOSTS"] == ["127.0.0.1"]
    middlewares = scrapy_settings["DOWNLOADER_MIDDLEWARES"]
    assert middlewares["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"] is None
    assert middlewares["scrapy.downloadermiddlewares.retry.RetryMiddleware"] is None
    assert scrapy_settings["REMOTE_CONTROL_ENABLED"] is False
    assert scrapy_settings["TWISTED_DNS_RESOLVER"] == "crawler.middlewares.GuardedResolver"


# --- the guarded client against real servers ----------------------------------------------

LOOPBACK = AddressPolicy(["127.0.0.1"])


def test_guarded_client_refuses_loopback_without_allow_list(
    site_factory: Callable[..., LocalSite],
) -> None:
    site = site_factory({"/": page(b"secret")})
    with guarded_client(NO_ALLOW) as client, pytest.raises(BlockedURLError):
        client.get(site.url("/"))
    assert site.hits == []


def test_guarded_client_connects_to_the_vetted_address(
    site_factory: Callable[..., LocalSite],
) -> None:
    """A made-up name only the stub can resolve: the connection must use the vetted answer."""
    site = site_factory({"/": page(b"via stub")})
    port = site.server.server_address[1]
    resolve = stub_resolver({"feeds.test": ["127.0.0.1"]})
    with guarded_client(LOOPBACK, resolve=resolve) as client:
        response = client.get(f"http://feeds.test:{port}/")
    assert response.content == b"via stub"
    assert resolve.calls == {"feeds.test": 1}  # type: ignore[attr-defined]
    assert site.hits[0].headers["host"] == f"feeds.test:{port}"


def test_guarded_client_vets_again_after_an_earlier_check(
    site_factory: Callable[..., LocalSite],
) -> None:
    """check_url passed, then the name moved to a refused address: the client must notice."""
    internal = site_factory({"/": page(b"internal")}, host="127.0.0.2")
    port = internal.server.server_address[1]
    resolve = stub_resolver({"rebind.test": [["127.0.0.1"], ["127.0.0.2"]]})
    url = f"http://rebind.test:{port}/"
    check_url(url, LOOPBACK, resolve=resolve)
    with (
        guarded_client(LOOPBACK, resolve=resolve) as client,
        pytest.raises(BlockedURLError, match=r"127\.0\.0\.2"),
    ):
        client.get(url)
    assert internal.hits == []
