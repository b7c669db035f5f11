"""Scrapy components that keep crawls safe and polite; `safety_settings` switches them on.

* `GuardedResolver` (``TWISTED_DNS_RESOLVER``): vets every address a name resolves to at
  the moment Scrapy connects, so DNS rebinding cannot slip past an earlier check.
* `SSRFGuardMiddleware`: refuses non-http(s) URLs and non-public addresses for
  every request, including each redirect hop (redirects come back through
  ``process_request`` as new requests); `ResolverRefusalMiddleware` reports the
  resolver's connect-time refusals the same way instead of as DNS errors.
* `RobotsTxtFailClosedMiddleware`: Scrapy's robots.txt middleware, except that a
  5xx, 429 or unreachable robots.txt means "disallow everything for now" (RFC
  9309 §2.3.1.4) where Scrapy would allow everything.
* `RetryAfterMiddleware`: Scrapy's retry middleware, plus ``Retry-After`` on 429
  and 503: the host gets no request until the server's time has passed.
* `LoopAwareRedirectMiddleware`, `LoopAwareMetaRefreshMiddleware`: Scrapy's
  redirects, except that a hop is never dropped as a duplicate (the request it
  continues still gets its callback or errback) and a hop back to a URL already
  in the chain fails at once as a "redirect loop".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.utils import parsedate_to_datetime
from time import monotonic, time
from typing import TYPE_CHECKING, Any, NoReturn

from core.errors import BlockedURLError
from core.netguard import (
    AddressPolicy,
    Resolve,
    check_scheme_only,
    normalize_host,
    parse_ip_literal,
    vet_host,
)
from core.settings import Settings
from scrapy import signals
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest, NotConfigured
from scrapy.resolver import CachingThreadedResolver, dnscache
from scrapy.robotstxt import RobotParser
from scrapy.utils.asyncio import call_later, run_in_thread, sleep
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import defer
from twisted.internet.error import DNSLookupError
from twisted.internet.threads import deferToThreadPool

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from twisted.internet.base import ReactorBase
    from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)

BLOCKED_STAT = "wirewatch/blocked_url"
RETRY_AFTER_STATUSES = frozenset({429, 503})
MIN_DOWNLOAD_DELAY = 0.05
HTTP11_HANDLER = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"


class BlockedRequest(IgnoreRequest):
    """The request's URL or address is refused; errbacks get this with the reason."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"blocked URL {url}: {reason}")
        self.url = url
        self.reason = reason


class RedirectLoop(IgnoreRequest):
    """A redirect leads back to a URL already visited on the way: the fetch fails."""

    def __init__(self, chain: list[str]) -> None:
        shown = chain if len(chain) <= 6 else [*chain[:2], "…", *chain[-3:]]
        super().__init__(f"redirect loop: {' → '.join(shown)}")
        self.chain = chain


class RobotsTxtBlocked(IgnoreRequest):
    """robots.txt forbids the request, or could not be read and so forbids everything.

    When it could not be read, ``cause`` is the fetch's exception (a DNS or
    connection failure, say) or ``status`` its HTTP status, so the failure can
    be named for what it is (``crawler.failures``).
    """

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        cause: BaseException | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(f"blocked by robots.txt: {reason}")
        self.url = url
        self.reason = reason
        self.cause = cause
        self.status = status


def policy_from_crawler(crawler: Crawler) -> AddressPolicy:
    return AddressPolicy(crawler.settings.getlist("WIREWATCH_ALLOW_PRIVATE_HOSTS"))


# --- DNS ----------------------------------------------------------------------------------


class AddressRefusedError(DNSLookupError):
    """The resolver would not hand out an address for this name (policy, not DNS trouble)."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"address {host!r} refused: {reason}")
        self.host = host
        self.reason = reason


class _Refusals:
    """Host names the resolver refused, and why; shared with the middlewares.

    Twisted's connection code reduces every resolver failure to a bare "DNS
    lookup failed", so the reason travels this way instead. Bounded.
    """

    LIMIT = 4096

    def __init__(self) -> None:
        self._reasons: dict[str, str] = {}

    def record(self, host: str, reason: str) -> None:
        if len(self._reasons) >= self.LIMIT:
            self._reasons.clear()
        self._reasons[normalize_host(host)] = reason

    def reason(self, host: str) -> str | None:
        return self._reasons.get(normalize_host(host))


refusals = _Refusals()


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, answering only with addresses the policy allows.

    Every address of the name is checked (one private record among public ones
    blocks). A refused name fails like an unknown one, as Twisted expects, and
    is recorded in `refusals` so the middlewares can say why and skip retries.
    Only vetted answers are cached.
    """

    def __init__(
        self,
        reactor: ReactorBase,
        cache_size: int,
        timeout: float,
        policy: AddressPolicy,
        resolve: Resolve | None = None,
    ) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.policy = policy
        self.resolve = resolve

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> Self:
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(
            reactor, cache_size, settings.getfloat("DNS_TIMEOUT"), policy_from_crawler(crawler)
        )

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        if name in dnscache:
            return defer.succeed(dnscache[name])
        d: Deferred[str] = deferToThreadPool(
            self.reactor,  # type: ignore[arg-type]
            self.reactor.getThreadPool(),  # type: ignore[attr-defined]
            vetted_ipv4,
            name,
            self.policy,
            self.resolve,
        )
        d.addTimeout(self.timeout, self.reactor, onTimeoutCancel=_dns_timeout(name))  # type: ignore[arg-type]
        if dnscache.limit:
            d.addCallback(self._cache_result, name)
        return d


def _dns_timeout(name: str) -> Any:
    def on_timeout(result: object, timeout: float) -> str:
        raise DNSLookupError(f"address {name!r} not found: no answer within {timeout:g} s")

    return on_timeout


def vetted_ipv4(name: str, policy: AddressPolicy, resolve: Resolve | None = None) -> str:
    """The IPv4 address Scrapy should connect to for *name* (its HTTP/1.1 client is IPv4 only)."""
    try:
        addresses = vet_host(name, policy, resolve=resolve)
    except BlockedURLError as exc:
        refusals.record(name, exc.reason)
        raise AddressRefusedError(name, exc.reason) from None
    except OSError as exc:
        raise DNSLookupError(f"address {name!r} not found: {exc}") from exc
    for ip in addresses:
        if ip.version == 4:
            return str(ip)
    raise DNSLookupError(f"address {name!r} has no IPv4 address")


# --- SSRF guard ---------------------------------------------------------------------------


def _block(crawler: Crawler, request: Request, reason: str) -> NoReturn:
    assert crawler.stats is not None
    crawler.stats.inc_value(BLOCKED_STAT)
    logger.warning("Refused to fetch %s: %s", request.url, reason)
    raise BlockedRequest(request.url, reason)


class SSRFGuardMiddleware:
    """Refuses requests whose scheme or resolved address is not allowed.

    Runs first among the downloader middlewares, so a refused request never
    reaches robots.txt handling or the network. Redirects and meta refreshes
    are new requests and pass through here again. Verdicts for host names are
    cached for the crawl; the resolver still vets at connect time.
    """

    _CACHE_LIMIT = 4096

    def __init__(self, crawler: Crawler, policy: AddressPolicy) -> None:
        self.crawler = crawler
        self.policy = policy
        self._verdicts: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("WIREWATCH_SSRF_GUARD_ENABLED", True):
            raise NotConfigured("WIREWATCH_SSRF_GUARD_ENABLED is off")
        return cls(crawler, policy_from_crawler(crawler))

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        try:
            check_scheme_only(request.url)
        except BlockedURLError as exc:
            _block(self.crawler, request, exc.reason)
        host = urlparse_cached(request).hostname or ""
        verdict = refusals.reason(host) or self._verdicts.get(host)
        if verdict is None:
            if parse_ip_literal(host) is not None:
                verdict = self._verdict(host)
            else:
                verdict = await run_in_thread(self._verdict, host)
        if verdict:
            _block(self.crawler, request, verdict)

    def _verdict(self, host: str) -> str:
        """Empty when allowed, else the reason; lookup failures are left to the downloader."""
        try:
            vet_host(host, self.policy)
            verdict = ""
        except BlockedURLError as exc:
            verdict = exc.reason
        except OSError:
            return ""
        if len(self._verdicts) >= self._CACHE_LIMIT:
            self._verdicts.clear()
        self._verdicts[host] = verdict
        return verdict


class ResolverRefusalMiddleware:
    """Reports a connect-time refusal by `GuardedResolver` as a blocked request.

    Sits at the downloader end of the chain so it sees the failure before the
    retry middleware would retry what looks like a DNS error.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("WIREWATCH_SSRF_GUARD_ENABLED", True):
            raise NotConfigured("WIREWATCH_SSRF_GUARD_ENABLED is off")
        return cls(crawler)

    def process_exception(
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> None:
        if isinstance(exception, CannotResolveHostError | DNSLookupError):
            reason = refusals.reason(urlparse_cached(request).hostname or "")
            if reason is not None:
                _block(self.crawler, request, reason)


# --- robots.txt ---------------------------------------------------------------------------


class _DisallowAll(RobotParser):
    """Stands in for a robots.txt that could not be read (RFC 9309 §2.3.1.4)."""

    def __init__(
        self,
        why: str,
        until: float,
        cause: BaseException | None = None,
        status: int | None = None,
    ) -> None:
        self.why = why
        self.until = until
        self.cause = cause
        self.status = status

    @classmethod
    def from_crawler(cls, crawler: Crawler, robotstxt_body: bytes) -> Self:
        return cls("robots.txt could not be read", monotonic())

    def crawl_delay(self, user_agent: str | bytes) -> float | None:
        return None

    def allowed(self, url: str | bytes, user_agent: str | bytes) -> bool:
        return False


class RobotsTxtFailClosedMiddleware(RobotsTxtMiddleware):
    """Scrapy's RobotsTxtMiddleware with RFC 9309's error handling.

    * 2xx: parsed as usual.
    * 4xx (and redirects that end nowhere): no robots.txt, everything allowed.
    * 5xx, 429 (a request to slow down, as Google reads it), a network error or a
      timeout: everything disallowed for that host for
      ``WIREWATCH_ROBOTSTXT_RETRY_SECONDS``, then robots.txt is fetched again.
      Scrapy itself parses the 5xx body or, on an exception, allows all; this is
      a deliberate deviation.

    Refused page requests raise `RobotsTxtBlocked` and count as
    ``robotstxt/forbidden``; failed robots.txt fetches count as
    ``wirewatch/robotstxt/unavailable``.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._retry_seconds = crawler.settings.getfloat("WIREWATCH_ROBOTSTXT_RETRY_SECONDS", 600.0)

    async def robot_parser(self, request: Request) -> RobotParser | None:
        netloc = urlparse_cached(request).netloc
        parser = self._parsers.get(netloc)
        if isinstance(parser, _DisallowAll) and monotonic() >= parser.until:
            del self._parsers[netloc]  # time to ask again
        return await super().robot_parser(request)

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        if isinstance(rp, _DisallowAll):
            self._forbid(
                request,
                f"{rp.why}; treated as disallow-all (RFC 9309 §2.3.1.4)",
                cause=rp.cause,
                status=rp.status,
            )
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest:
            raise RobotsTxtBlocked(request.url, "disallowed for our user agent") from None

    def _forbid(
        self,
        request: Request,
        reason: str,
        *,
        cause: BaseException | None = None,
        status: int | None = None,
    ) -> None:
        self._stats.inc_value("robotstxt/forbidden")
        logger.info("Not fetching %s: blocked by robots.txt: %s", request.url, reason)
        raise RobotsTxtBlocked(request.url, reason, cause=cause, status=status)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status >= 500 or response.status == 429:
            self._stats.inc_value("robotstxt/response_count")
            self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
            self._fail_closed(
                netloc, f"robots.txt answered HTTP {response.status}", status=response.status
            )
            return
        if response.status >= 300:
            response = response.replace(body=b"")  # unavailable: no rules, allow all
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if isinstance(exc, IgnoreRequest) and not isinstance(exc, BlockedRequest):
            # e.g. too many redirects: robots.txt is "unavailable", which allows all
            super()._robots_error(exc, netloc)
            return
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        self._fail_closed(netloc, f"robots.txt could not be fetched ({exc})", cause=exc)

    def _fail_closed(
        self,
        netloc: str,
        why: str,
        *,
        cause: BaseException | None = None,
        status: int | None = None,
    ) -> None:
        self._stats.inc_value("wirewatch/robotstxt/unavailable")
        logger.warning("%s for %s; disallowing the host for now", why, netloc)
        pending = self._parsers.get(netloc)
        parser = _DisallowAll(why, monotonic() + self._retry_seconds, cause, status)
        self._parsers[netloc] = parser
        if isinstance(pending, defer.Deferred):
            pending.callback(parser)


# --- Retry-After --------------------------------------------------------------------------


def parse_retry_after(value: str | bytes | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP date); None if invalid."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time() if now is None else now))


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware, honouring ``Retry-After`` on 429 and 503.

    The wait applies to the whole host. It starts the moment the response
    arrives (``response_downloaded``), before the host's next queued request
    can leave, by holding the host's download slot; requests that reach this
    middleware later wait in ``process_request``. The 429/503 itself is retried
    after the wait, within ``RETRY_TIMES``.

    A wait longer than ``WIREWATCH_RETRY_AFTER_MAX`` seconds is not worth
    holding a crawl for: that response is not retried, further requests to the
    host in this crawl are dropped, and the next scheduled crawl tries again
    (stats ``wirewatch/retry_after/too_long`` and ``.../dropped``).
    """

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.max_wait = settings.getfloat("WIREWATCH_RETRY_AFTER_MAX", 60.0)
        self._not_before: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = super().from_crawler(crawler)
        crawler.signals.connect(middleware.response_downloaded, signal=signals.response_downloaded)
        return middleware

    def response_downloaded(self, response: Response, request: Request) -> None:
        wait = self._requested_wait(response)
        if wait is None:
            return
        key = self._slot_key(request)
        self._not_before[key] = max(self._not_before.get(key, 0.0), monotonic() + wait)
        remaining = self._not_before[key] - monotonic()
        if remaining <= self.max_wait:  # longer: process_request drops the host's requests
            self._hold_slot(key, remaining)

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        key = self._slot_key(request)
        wait = self._not_before.get(key, 0.0) - monotonic()
        if wait <= 0:
            self._not_before.pop(key, None)
            return
        if wait > self.max_wait:
            self._stats.inc_value("wirewatch/retry_after/dropped")
            raise IgnoreRequest(
                f"{key} asked for no requests during the next {wait:.0f} s (Retry-After), "
                f"more than WIREWATCH_RETRY_AFTER_MAX ({self.max_wait:g} s)"
            )
        self._stats.inc_value("wirewatch/retry_after/delayed")
        await sleep(wait)

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        wait = self._requested_wait(response)
        if (
            wait is None
            or request.meta.get("dont_retry", False)
            or response.status not in self.retry_http_codes
        ):
            return super().process_response(request, response)
        if wait > self.max_wait:
            self._stats.inc_value("wirewatch/retry_after/too_long")
            logger.warning(
                "Not retrying %s: Retry-After asks for %.0f s, more than the %.0f s limit",
                request.url,
                wait,
                self.max_wait,
            )
            return response
        return self._retry(request, f"{response.status} with Retry-After {wait:g} s") or response

    @staticmethod
    def _requested_wait(response: Response) -> float | None:
        if response.status not in RETRY_AFTER_STATUSES:
            return None
        return parse_retry_after(response.headers.get(b"Retry-After"))

    def _hold_slot(self, key: str, wait: float) -> None:
        """Stop the host's download queue for *wait* seconds, as a download delay does."""
        engine = self.crawler.engine
        slot = engine.downloader.slots.get(key) if engine is not None else None
        if engine is None or slot is None:
            return
        if slot.latercall is not None:
            slot.latercall.cancel()
        slot.latercall = call_later(wait, engine.downloader._latercall, slot)

    @property
    def _stats(self) -> Any:
        return self.crawler.stats

    @staticmethod
    def _slot_key(request: Request) -> str:
        slot = request.meta.get("download_slot")
        return str(slot) if slot else urlparse_cached(request).hostname or ""


# --- redirects ----------------------------------------------------------------------------


class _LoopAware:
    """What both redirect middlewares below change in Scrapy's ``_redirect``.

    A redirect is a further step of one fetch, not a new page: Scrapy lets the
    duplicate filter drop a hop to any URL already requested in the crawl, and
    with it the request's callback and errback. A loop (A → B → A) and a feed
    moved onto another source's URL then left that source with no outcome at
    all. Hops pass the filter here; a loop fails with `RedirectLoop` (stat
    ``wirewatch/redirect_loop``) and a long chain still stops at
    ``REDIRECT_MAX_TIMES``.
    """

    crawler: Crawler

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if redirected.url in chain:
            self.crawler.stats.inc_value("wirewatch/redirect_loop")
            raise RedirectLoop([*chain, redirected.url])
        hop: Request = super()._redirect(redirected, request, reason)  # type: ignore[misc]
        hop.dont_filter = True
        return hop


class LoopAwareRedirectMiddleware(_LoopAware, RedirectMiddleware):
    """Scrapy's 3xx redirects; see `_LoopAware`."""


class LoopAwareMetaRefreshMiddleware(_LoopAware, MetaRefreshMiddleware):
    """Scrapy's ``<meta http-equiv="refresh">`` redirects; see `_LoopAware`."""


# --- settings -----------------------------------------------------------------------------


def safety_settings(settings: Settings) -> dict[str, Any]:
    """The Scrapy settings that switch all of the above on, from wirewatch's settings.

    ``crawler/settings.py`` applies them as the project's settings, so only a spider's
    ``custom_settings`` or a command-line ``-s`` option could override them; no spider
    of ours sets any of these.
    """
    return {
        # Only HTTP(S), and only through Scrapy's HTTP/1.1 handler, which uses the resolver below.
        "DOWNLOAD_HANDLERS": {
            "file": None,
            "data": None,
            "ftp": None,
            "s3": None,
            "http": HTTP11_HANDLER,
            "https": HTTP11_HANDLER,
        },
        "TWISTED_DNS_RESOLVER": "crawler.middlewares.GuardedResolver",
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.middlewares.SSRFGuardMiddleware": 10,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.middlewares.RobotsTxtFailClosedMiddleware": 100,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "crawler.middlewares.RetryAfterMiddleware": 550,
            "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
            "crawler.middlewares.LoopAwareMetaRefreshMiddleware": 580,
            "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
            "crawler.middlewares.LoopAwareRedirectMiddleware": 600,
            "crawler.middlewares.ResolverRefusalMiddleware": 950,
        },
        "WIREWATCH_SSRF_GUARD_ENABLED": True,
        "WIREWATCH_ALLOW_PRIVATE_HOSTS": list(settings.allow_private_hosts),
        "WIREWATCH_RETRY_AFTER_MAX": 60.0,
        "WIREWATCH_ROBOTSTXT_RETRY_SECONDS": 600.0,
        "ROBOTSTXT_OBEY": settings.obey_robots_txt,
        "DOWNLOAD_MAXSIZE": settings.download_max_bytes,
        "DOWNLOAD_WARNSIZE": min(settings.download_warn_bytes, settings.download_max_bytes),
        "DOWNLOAD_TIMEOUT": settings.download_timeout,
        "DOWNLOAD_FAIL_ON_DATALOSS": True,
        "REDIRECT_MAX_TIMES": settings.max_redirects,
        "CONCURRENT_REQUESTS": settings.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.concurrent_requests_per_domain,
        "CONCURRENT_REQUESTS_PER_IP": 0,
        # With no delay at all, Scrapy 2.19 on asyncio can start several queued requests to
        # one host in the same loop tick, past CONCURRENT_REQUESTS_PER_DOMAIN; any delay
        # makes it release them one at a time.
        "DOWNLOAD_DELAY": max(settings.download_delay, MIN_DOWNLOAD_DELAY),
        "RETRY_ENABLED": True,
        "RETRY_TIMES": 2,
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
        "USER_AGENT": settings.user_agent,
        "DNSCACHE_ENABLED": True,
        "DNS_TIMEOUT": min(settings.download_timeout, 60.0),
        # Both consoles run code inside the crawler process; a crawler has no use for them.
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
    }
