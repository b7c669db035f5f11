"""Real Scrapy crawls against local servers, with the settings `safety_settings` returns.

Twisted's reactor cannot be restarted, so every crawl runs in a child Python
process (`run_crawl`) that prints its results, errors and stats as JSON. The
servers run here, in threads, and record every request they receive, so a
test can assert that something was *never* fetched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from crawler.middlewares import parse_retry_after
from tests.test_netguard import (
    STALL_LIMIT,
    LocalSite,
    MiB,
    gzip_bomb,
    local_sites,
    page,
    partial,
    redirect,
    send,
    stall,
    stream,
)

ROOT = Path(__file__).resolve().parent.parent
CRAWL_TIMEOUT = 90.0
# A one-page crawl peaks near 100 MB and a capped bomb at 120-320 MB depending on
# how much arrives before the abort (more on a loaded machine); without the cap
# the same crawl reached 2,149 MB. The limit tells those apart.
RSS_LIMIT_MB = 600


@pytest.fixture
def site_factory() -> Iterator[Callable[..., LocalSite]]:
    with local_sites() as make:
        yield make


CHILD = "import json, sys; from tests.test_crawl_safety import child_main; child_main(json.loads(sys.argv[1]))"


def run_crawl(
    start_urls: list[str],
    *,
    allow: list[str] | None = None,
    settings: dict[str, Any] | None = None,
    fake_dns: dict[str, list[list[str]]] | None = None,
    start_delays: list[float] | None = None,
    cwd: Path,
) -> dict[str, Any]:
    """Crawl *start_urls* in a child process; returns results, errors, stats and max RSS."""
    config = {
        "start_urls": start_urls,
        "allow": ["127.0.0.1"] if allow is None else allow,
        "settings": {"LOG_LEVEL": "WARNING", **(settings or {})},
        "fake_dns": fake_dns or {},
        "start_delays": start_delays or [],
    }
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("WIREWATCH_") and "proxy" not in name.lower()
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=CRAWL_TIMEOUT,
        cwd=cwd,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    report["elapsed"] = time.monotonic() - started
    report["log"] = proc.stderr
    return report


def child_main(config: dict[str, Any]) -> None:
    """Runs in the child process: one crawl, then a JSON report on stdout."""
    import asyncio
    import socket

    fake_dns: dict[str, list[list[str]]] = config["fake_dns"]
    if fake_dns:
        real_getaddrinfo = socket.getaddrinfo

        real_gethostbyname = socket.gethostbyname
        calls: dict[str, int] = {}

        def answer(host: str) -> list[str]:
            n = calls.get(host, 0)
            calls[host] = n + 1
            return fake_dns[host][min(n, len(fake_dns[host]) - 1)]

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host not in fake_dns:
                return real_getaddrinfo(host, port, *args, **kwargs)
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port or 0)) for ip in answer(host)
            ]

        def gethostbyname(host: str) -> str:  # what Scrapy's stock resolver would ask
            return answer(host)[0] if host in fake_dns else real_gethostbyname(host)

        socket.getaddrinfo = getaddrinfo
        socket.gethostbyname = gethostbyname

    from scrapy import Request, Spider
    from scrapy.crawler import CrawlerProcess
    from scrapy.http import Response
    from twisted.python.failure import Failure

    from core.settings import Settings
    from crawler.middlewares import safety_settings

    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []

    class Probe(Spider):
        name = "probe"

        async def start(self) -> Any:
            delays = config["start_delays"]
            for index, url in enumerate(config["start_urls"]):
                if index < len(delays) and delays[index]:
                    await asyncio.sleep(delays[index])
                yield Request(url, callback=self.parse, errback=self.failed, dont_filter=True)

        def parse(self, response: Response) -> None:
            results.append(
                {"url": response.url, "status": response.status, "size": len(response.body)}
            )

        def failed(self, failure: Failure) -> None:
            request = getattr(failure, "request", None)
            url = request.url if request is not None else None
            hops = request.meta.get("redirect_urls", []) if request is not None else []
            errors.append(
                {
                    "url": url,
                    "origin": hops[0] if hops else url,
                    "type": type(failure.value).__name__,
                    "message": str(failure.value),
                }
            )

    ours = Settings(allow_private_hosts=config["allow"], download_delay=0.0)
    process = CrawlerProcess(
        {**safety_settings(ours), "HTTPERROR_ALLOW_ALL": True, **config["settings"]}
    )
    crawler = process.create_crawler(Probe)
    process.crawl(crawler)
    process.start()
    assert crawler.stats is not None
    stats = {
        key: value
        for key, value in crawler.stats.get_stats().items()
        if isinstance(value, int | float)
    }
    report = {
        "results": results,
        "errors": errors,
        "stats": stats,
        "maxrss_mb": peak_rss_mb(),
    }
    print(json.dumps(report))


def peak_rss_mb() -> float:
    """This process's own peak resident size, in MiB.

    Linux carries ``ru_maxrss`` across exec, so a child started from a test process that
    has grown to 600 MB reports at least 600 MB whatever it does itself. ``VmHWM`` is
    the high-water mark of the memory the process has now, which starts afresh at exec.
    """
    import resource

    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def errors_for(report: dict[str, Any], url: str) -> list[dict[str, Any]]:
    """Errors of the request for *url*, or of a redirect chain that started there."""
    return [error for error in report["errors"] if url in (error["url"], error["origin"])]


def fetched(report: dict[str, Any]) -> set[str]:
    """URLs that reached the spider with a successful response."""
    return {result["url"] for result in report["results"] if result["status"] < 400}


# --- SSRF ---------------------------------------------------------------------------------


def test_redirect_to_internal_address_is_refused(
    site_factory: Callable[..., LocalSite], tmp_path: Path
) -> None:
    """127.0.0.1 is allowed, 127.0.0.2 is not: the hop there is refused, nothing is fetched."""
    internal = site_factory(
        {"/internal": page(b"internal secret"), "/meta-target": page()}, host="127.0.0.2"
    )
    refresh = f'<meta http-equiv="refresh" content="0;url={internal.url("/meta-target")}">'
    public = site_factory(
        {
            "/start": redirect(internal.url("/internal")),
            "/meta": page(f"<html><head>{refresh}</head></html>".encode()),
            "/ok": page(),
        }
    )
    report = run_crawl([public.url(p) for p in ("/start", "/meta", "/ok")], cwd=tmp_path)
    assert internal.hits == []
    for start, target in (("/start", "/internal"), ("/meta", "/meta-target")):
        [error] = errors_for(report, public.url(start))
        assert error["type"] == "BlockedRequest"
        assert error["url"] == internal.url(target)
        assert "127.0.0.2" in error["message"]
    assert report["stats"]["wirewatch/blocked_url"] == 2
    assert fetched(report) == {public.url("/ok")}


def test_dns_rebinding_is_refused_at_connect_time(
    site_factory: Callable[..., LocalSite], tmp_path: Path
) -> None:
    """The name looks public to the middleware's check, then resolves to loopback at connect."""
    site = site_factory({"/": page(b"should never be served")})
    port = site.server.server_address[1]
    url = f"http://rebind.test:{port}/"
    report = run_crawl(
        [url],
        allow=[],
        fake_dns={"rebind.test": [["8.8.8.8"], ["127.0.0.1"]]},
        settings={"ROBOTSTXT_OBEY": False, "RETRY_TIMES": 0},
        cwd=tmp_path,
    )
    assert site.hits == []
    [error] = errors_for(report, url)
    assert error["type"] == "BlockedRequest"
    assert "resolves to 127.0.0.1" in error["message"]
    assert report["stats"]["wirewatch/blocked_url"] == 1


@pytest.mark.parametrize("guard", [True, False], ids=["guard", "handlers-only"])
def test_local_file_urls_are_refused(tmp_path: Path, guard: bool) -> None:
    """With the guard, and even without it, because the file/data handlers are disabled."""
    secret = tmp_path / "secret.txt"
    secret.write_text("SENTINEL-7f3c1e", encoding="utf-8")
    urls = [secret.as_uri(), "data:text/plain,SENTINEL-data"]
    report = run_crawl(urls, settings={"WIREWATCH_SSRF_GUARD_ENABLED": guard}, cwd=tmp_path)
    assert report["results"] == []
    assert {error["url"] for error in report["errors"]} == set(urls)
    if guard:
        assert {error["type"] for error in report["errors"]} == {"BlockedRequest"}
        assert report["stats"]["wirewatch/blocked_url"] == 2
    else:
        assert all("scheme" in error["message"] for error in report["errors"])
    assert "SENTINEL" not in json.dumps(report["results"])


# --- robots.txt ---------------------------------------------------------------------------


def drop_connection(h: BaseHTTPRequestHandler, site: LocalSite) -> None:
    h.close_connection = True
    h.connection.shutdown(2)


def robots_routes(robots: Callable[[BaseHTTPRequestHandler, LocalSite], None]) -> dict[str, Any]:
    return {"/robots.txt": robots, "/page": page()}


def test_robots_txt_rules_and_failures(
    site_factory: Callable[..., LocalSite], tmp_path: Path
) -> None:
    """One host per robots.txt behaviour; RFC 9309: 4xx allows, 5xx and errors disallow all.

    429 is the exception among 4xx: it is a request to slow down, so it counts as a failure.
    """
    sites = {
        "disallow": site_factory(robots_routes(page(b"User-agent: *\nDisallow: /\n"))),
        "503": site_factory(robots_routes(lambda h, s: send(h, 503, b"busy"))),
        "429": site_factory(robots_routes(lambda h, s: send(h, 429, b"slow down"))),
        "dropped": site_factory(robots_routes(drop_connection)),
        "404": site_factory(robots_routes(lambda h, s: send(h, 404, b"no robots"))),
        "allow": site_factory(robots_routes(page(b"User-agent: *\nDisallow: /private\n"))),
    }
    report = run_crawl(
        [site.url("/page") for site in sites.values()],
        settings={"RETRY_TIMES": 1, "DOWNLOAD_TIMEOUT": 5},
        cwd=tmp_path,
    )
    for name in ("disallow", "503", "429", "dropped"):
        site = sites[name]
        assert "/page" not in site.paths(), name
        [error] = errors_for(report, site.url("/page"))
        assert error["type"] == "RobotsTxtBlocked", name
        assert error["message"].startswith("blocked by robots.txt"), name
    assert sites["503"].paths() == ["/robots.txt", "/robots.txt"]  # retried once, then given up
    assert "HTTP 503" in errors_for(report, sites["503"].url("/page"))[0]["message"]
    assert fetched(report) == {sites["404"].url("/page"), sites["allow"].url("/page")}
    assert report["stats"]["robotstxt/forbidden"] == 4
    assert report["stats"]["wirewatch/robotstxt/unavailable"] == 3


def test_unavailable_robots_txt_is_asked_again_later(
    site_factory: Callable[..., LocalSite], tmp_path: Path
) -> None:
    answers = iter([503])

    def robots(h: BaseHTTPRequestHandler, site: LocalSite) -> None:
        status = next(answers, 200)
        send(h, status, b"User-agent: *\nAllow: /\n" if status == 200 else b"busy")

    site = site_factory({"/robots.txt": robots, "/a": page(), "/b": page()})
    report = run_crawl(
        [site.url("/a"), site.url("/b")],
        start_delays=[0, 1.0],
        settings={"RETRY_TIMES": 0, "WIREWATCH_ROBOTSTXT_RETRY_SECONDS": 0.5},
        cwd=tmp_path,
    )
    assert errors_for(report, site.url("/a"))[0]["type"] == "RobotsTxtBlocked"
    assert fetched(report) == {site.url("/b")}
    assert site.paths() == ["/robots.txt", "/robots.txt", "/b"]


# --- politeness and limits ----------------------------------------------------------------


def test_retry_after_is_honoured_for_the_whole_host(
    site_factory: Callable[..., LocalSite], tmp_path: Path
) -> None:
    limited_answers = iter([429])

    def limited(h: BaseHTTPRequestHandler, site: LocalSite) -> None:
        status = next(limited_answers, 200)
        send(h, status, b"slow down" if status == 429 else b"finally", {"Retry-After": "1"})

    site = site_factory(
        {
            "/limited": limited,
            "/always": lambda h, s: send(h, 429, b"no", {"Retry-After": "0"}),
            "/other": page(),
        }
    )
    closed = site_factory(
        {"/later": lambda h, s: send(h, 503, b"no", {"Retry-After": "3600"}), "/after": page()}
    )
    # Scrapy keys hosts by name, not port: the second site is reached as "localhost"
    closed_base = closed.base.replace("127.0.0.1", "localhost")
    urls = [site.url(p) for p in ("/limited", "/always", "/other")]
    urls += [closed_base + "/later", closed_base + "/after"]
    report = run_crawl(
        urls,
        allow=["127.0.0.1", "localhost"],
        settings={"RETRY_TIMES": 2},
        start_delays=[0, 0, 0, 0, 0.5],
        cwd=tmp_path,
    )

    assert fetched(report) == {site.url("/limited"), site.url("/other")}
    limited_hits = [hit for hit in site.hits if hit.path == "/limited"]
    assert len(limited_hits) == 2
    first = limited_hits[0].at
    assert limited_hits[1].at - first >= 0.95
    # nothing at all went to the host while it asked us to wait
    assert not [hit for hit in site.hits if first < hit.at < first + 0.95], [
        (round(hit.at - first, 2), hit.path) for hit in site.hits
    ]
    assert site.paths().count("/always") == 3  # first try + RETRY_TIMES
    assert report["stats"]["retry/max_reached"] == 1
    # an hour is beyond WIREWATCH_RETRY_AFTER_MAX: no retry, and the host is left alone
    assert closed.paths() == ["/robots.txt", "/later"]
    assert report["stats"]["wirewatch/retry_after/too_long"] == 1
    assert "Retry-After" in errors_for(report, closed_base + "/after")[0]["message"]


def test_redirect_loops_and_long_chains_stop(
    site_factory: Callable[..., LocalSite], tmp_path: Path
) -> None:
    """A hop back to a URL already in the chain is a loop at once; others stop at the limit."""
    site = site_factory(
        {
            "/loop": redirect("/loop"),
            "/ping": redirect("/pong"),
            "/pong": redirect("/ping"),
            **{f"/hop{i}": redirect(f"/hop{i + 1}") for i in range(10)},
            "/ok": page(),
        }
    )
    urls = [site.url("/loop"), site.url("/ping"), site.url("/hop0"), site.url("/ok")]
    report = run_crawl(urls, settings={"REDIRECT_MAX_TIMES": 5}, cwd=tmp_path)
    assert site.paths().count("/loop") == 1
    assert site.paths().count("/ping") + site.paths().count("/pong") == 2
    for url in urls[:2]:
        [error] = errors_for(report, url)
        assert error["type"] == "RedirectLoop"
        assert error["message"].startswith("redirect loop: " + url)
    assert report["stats"]["wirewatch/redirect_loop"] == 2
    [error] = errors_for(report, site.url("/hop0"))
    assert "max redirections" in error["message"]
    assert [p for p in site.paths() if p.startswith("/hop")] == [f"/hop{i}" for i in range(6)]
    assert fetched(report) == {site.url("/ok")}  # the crawl went on


def test_oversized_bodies_and_bombs_are_dropped_with_bounded_memory(
    site_factory: Callable[..., LocalSite], tmp_path: Path
) -> None:
    site = site_factory(
        {
            "/endless": stream(64 * MiB),
            "/declared": page(b"x" * (12 * MiB)),
            "/bomb": page(gzip_bomb(1024 * MiB), **{"Content-Encoding": "gzip"}),
            "/ok": page(),
        }
    )
    urls = [site.url(p) for p in ("/endless", "/declared", "/bomb", "/ok")]
    report = run_crawl(urls, settings={"RETRY_TIMES": 0}, cwd=tmp_path)
    assert fetched(report) == {site.url("/ok")}
    assert {error["url"] for error in report["errors"]} == set(urls[:3])
    assert "DOWNLOAD_MAXSIZE" in errors_for(report, site.url("/bomb"))[0]["message"]
    assert report["maxrss_mb"] < RSS_LIMIT_MB, f"child peaked at {report['maxrss_mb']:.0f} MB"


def test_stalled_and_truncated_responses_fail(
    site_factory: Callable[..., LocalSite], tmp_path: Path
) -> None:
    site = site_factory({"/stall": stall(), "/partial": partial, "/ok": page()})
    report = run_crawl(
        [site.url("/stall"), site.url("/partial"), site.url("/ok")],
        settings={"DOWNLOAD_TIMEOUT": 1, "RETRY_TIMES": 0},
        cwd=tmp_path,
    )
    [error] = errors_for(report, site.url("/stall"))
    assert "Timeout" in error["type"]
    [error] = errors_for(report, site.url("/partial"))
    assert error["type"] in ("ResponseDataLossError", "DownloadFailedError"), error
    assert fetched(report) == {site.url("/ok")}  # no partial page reached the spider
    assert report["elapsed"] < STALL_LIMIT  # ended by our timeout, not by the server


# --- Retry-After parsing ------------------------------------------------------------------


def test_parse_retry_after() -> None:
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    in_two_minutes = format_datetime(now + timedelta(minutes=2), usegmt=True)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(b" 0 ") == 0.0
    assert parse_retry_after(in_two_minutes, now=now.timestamp()) == pytest.approx(120.0)
    assert parse_retry_after("Sat, 01 Mar 2025 11:00:00 GMT", now=now.timestamp()) == 0.0
    assert parse_retry_after("-5") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
