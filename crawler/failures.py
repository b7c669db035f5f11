"""A failed source fetch, named: DNS, connection, TLS, timeout, HTTP status, robots, refused.

Scrapy hands the spider's errback Twisted and Scrapy exceptions. A host that
does not resolve used to be reported as "RobotsTxtBlocked: robots.txt could not
be fetched (DNS lookup failed ...)", because robots.txt is fetched first and
its failure forbids the host; here the cause behind the robots.txt failure is
named instead, so the operator reads "DNS: the host ... does not resolve".
The classes and their one-line form are ``core.failures``'; checking a new
source (``wirewatch.sourcecheck``) uses the same ones.
"""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlsplit

from core.failures import Failure, FailureKind, one_line
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    ResponseDataLossError,
)
from twisted.internet import error as net
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from crawler.middlewares import BlockedRequest, RedirectLoop, RobotsTxtBlocked

try:  # pyOpenSSL is how Twisted speaks TLS
    from OpenSSL.SSL import Error as OpenSSLError
except ImportError:  # pragma: no cover - Scrapy always brings it
    OpenSSLError = ()  # type: ignore[assignment,misc]


def classify(value: BaseException, url: str) -> Failure:
    """The failure class and a one-line detail for an errback's exception."""
    host = urlsplit(url).hostname or url
    response = getattr(value, "response", None)
    if response is not None:
        return Failure(FailureKind.HTTP, _phrase(response.status), response.status)
    if isinstance(value, RobotsTxtBlocked):
        return _robots(value, url)
    if isinstance(value, BlockedRequest):
        return Failure(FailureKind.REFUSED_ADDRESS, one_line(str(value)))
    if isinstance(value, RedirectLoop):
        return Failure(FailureKind.HTTP, one_line(str(value)))
    return _network(value, host, url)


def _robots(value: RobotsTxtBlocked, url: str) -> Failure:
    cause = value.cause
    if cause is not None:
        inner = classify(cause, url)
        return Failure(inner.kind, f"{inner.detail} (reading robots.txt)", inner.status)
    if value.status is not None:
        return Failure(
            FailureKind.HTTP,
            f"robots.txt answered {value.status}, so the host is treated as disallowed for now",
            value.status,
        )
    return Failure(FailureKind.ROBOTS, f"robots.txt {value.reason}")


def _network(value: BaseException, host: str, url: str) -> Failure:
    if isinstance(value, net.DNSLookupError | CannotResolveHostError):
        return Failure(FailureKind.DNS, f"the host {host} does not resolve")
    if isinstance(value, net.ConnectionRefusedError | DownloadConnectionRefusedError):
        port = urlsplit(url).port or (443 if url.startswith("https") else 80)
        return Failure(FailureKind.CONNECTION, f"connection refused by {host}:{port}")
    if (
        isinstance(value, net.TimeoutError | net.TCPTimedOutError | DownloadTimeoutError)
        or "TimeoutError" in type(value).__name__
    ):
        return Failure(FailureKind.TIMEOUT, f"{host} did not answer in time")
    reasons = getattr(value, "reasons", None) or []
    inner = [r.value for r in reasons if hasattr(r, "value")]
    if isinstance(value, OpenSSLError) or any(isinstance(r, OpenSSLError) for r in inner):
        return Failure(FailureKind.TLS, f"TLS with {host} failed ({_first(value, inner)})")
    if "SSL" in str(value) or "certificate" in str(value).lower():
        return Failure(FailureKind.TLS, f"TLS with {host} failed ({_first(value, inner)})")
    if isinstance(
        value,
        ResponseNeverReceived | ResponseFailed | net.ConnectionLost | ResponseDataLossError,
    ):
        return Failure(
            FailureKind.CONNECTION, f"{host} closed the connection ({_first(value, inner)})"
        )
    if isinstance(value, net.ConnectError | DownloadFailedError):
        return Failure(
            FailureKind.CONNECTION, f"could not connect to {host} ({_first(value, inner)})"
        )
    text = str(value).strip()
    name = type(value).__name__
    return Failure(FailureKind.OTHER, one_line(f"{name}: {text}" if text else name, 200))


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "unexpected status"


def _first(value: BaseException, inner: list[BaseException]) -> str:
    chosen = inner[0] if inner else value
    return one_line(str(chosen) or type(chosen).__name__, 160)
