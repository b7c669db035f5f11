"""Which URLs wirewatch may fetch, and an HTTP client that enforces it where it connects.

Sources, feeds and on-demand crawls are user-supplied URLs. Without a guard a
URL such as ``http://169.254.169.254/`` or ``file:///etc/passwd`` turns the
crawler into a proxy into the host's own network (SSRF). The rules:

* only ``http`` and ``https``;
* the host is resolved and **every** address it resolves to must be public
  (``ipaddress`` ``is_global``, not multicast); IPv4 addresses hidden inside
  IPv6 (``::ffff:a.b.c.d``, 6to4, NAT64, IPv4-compatible) are checked as IPv4.
  Checking the resolved address rather than the text of the URL is what makes
  ``http://2130706433/``, ``http://0x7f.1/`` or ``http://127.1/`` fail too;
* an explicit allow-list (host names as written, IP addresses, CIDR networks)
  opens exceptions for tests, demos and self-hosted sources.

A check before fetching is not enough on its own: a name can resolve to a
public address when checked and to a private one a moment later (DNS
rebinding). So `guarded_client` connects to the very addresses it vetted, and the
Scrapy side installs a resolver that vets at connect time
(`crawler.middlewares.GuardedResolver`).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from core.errors import BlockedURLError, ConfigError
from core.settings import Settings

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# socket.getaddrinfo-compatible: (host, port) -> [(family, type, proto, canonname, sockaddr)]
Resolve = Callable[[str, int | None], Sequence[tuple[Any, ...]]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
ALLOW_HINT = "allow it with the allow_private_hosts setting (WIREWATCH_ALLOW_PRIVATE_HOSTS)"
_HOSTNAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")
_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_METADATA = ipaddress.IPv4Address("169.254.169.254")


class AddressPolicy:
    """The exceptions to "public addresses only": host names, IP addresses, CIDR networks.

    A host name matches the URL's host exactly as written (case and a trailing dot
    aside); an address or network matches what the host resolves to.
    """

    def __init__(self, allow: Sequence[str] = ()) -> None:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in allow:
            entry = raw.strip()
            if not entry:
                continue
            network = _parse_network(entry)
            if network is not None:
                networks.append(network)
                continue
            host = normalize_host(entry)
            if not _HOSTNAME.match(host):
                raise ConfigError(
                    f"allow_private_hosts entry {raw!r} is not a host name, IP address or "
                    "CIDR network (write e.g. 'localhost', '127.0.0.1' or '10.0.0.0/8')"
                )
            hosts.add(host)
        self.hosts: frozenset[str] = frozenset(hosts)
        self.networks: tuple[IPNetwork, ...] = tuple(networks)

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressPolicy:
        return cls(settings.allow_private_hosts)

    def allows_host(self, host: str) -> bool:
        return normalize_host(host) in self.hosts

    def allows_address(self, ip: IPAddress) -> bool:
        candidates = {ip, unwrap_ip(ip)}
        return any(
            c in net for c in candidates for net in self.networks if c.version == net.version
        )

    def __repr__(self) -> str:
        entries = sorted(self.hosts) + [str(n) for n in self.networks]
        return f"AddressPolicy(allow={entries!r})"


def _parse_network(entry: str) -> IPNetwork | None:
    try:
        return ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return None


def normalize_host(host: str) -> str:
    """Lower case, no brackets, no trailing dot, IDNA (punycode) for non-ASCII names."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name


def unwrap_ip(ip: IPAddress) -> IPAddress:
    """``::ffff:127.0.0.1`` is 127.0.0.1 on the wire, but ``ipaddress`` does not say it is loopback."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    embedded: list[ipaddress.IPv4Address] = []
    if ip.sixtofour is not None:
        embedded.append(ip.sixtofour)
    if ip.teredo is not None:
        embedded.extend(ip.teredo)
    if ip in _NAT64 or int(ip) >> 32 == 0:  # NAT64 or deprecated IPv4-compatible ::a.b.c.d
        embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return embedded


def non_public_reason(ip: IPAddress) -> str | None:
    """Why *ip* must not be fetched ("loopback", "private", ...), or None when it is public."""
    ip = unwrap_ip(ip)
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip == _METADATA:
        return "link-local (cloud metadata service)"
    if ip.is_link_local:
        return "link-local"
    if ip in _SHARED_ADDRESS_SPACE:
        return "shared address space (carrier-grade NAT)"
    if ip.is_multicast:
        return "multicast"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "special-purpose"
    if isinstance(ip, ipaddress.IPv6Address):
        for inner in _embedded_ipv4(ip):
            inner_reason = non_public_reason(inner)
            if inner_reason is not None:
                return f"IPv6 address embedding {inner}: {inner_reason}"
    return None


def check_scheme_only(url: str) -> None:
    """Refuse anything but an absolute http(s) URL with a host; no DNS involved.

    For links that are only stored or rendered (feed entries), never fetched here.
    """
    _split_http_url(url)


def _split_http_url(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise BlockedURLError(url, f"the URL does not parse: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"{scheme}:" if scheme else "no scheme"
        raise BlockedURLError(url, f"{shown} is not allowed; only http and https URLs are fetched")
    host = parts.hostname
    if not host:
        raise BlockedURLError(url, "the URL has no host")
    return host, port if port is not None else (443 if scheme == "https" else 80)


def parse_ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(normalize_host(host))
    except ValueError:
        return None


def lookup(host: str, port: int | None = None, resolve: Resolve | None = None) -> list[IPAddress]:
    """Every address *host* resolves to, in resolver order; OSError when it does not resolve."""
    addresses: list[IPAddress] = []
    for info in (resolve or socket.getaddrinfo)(normalize_host(host), port):
        ip = unwrap_ip(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, f"{host!r} resolved to no address")
    return addresses


def vet_host(
    host: str, policy: AddressPolicy, *, port: int | None = None, resolve: Resolve | None = None
) -> list[IPAddress]:
    """The addresses to connect to for *host*, all of them allowed by *policy*.

    Raises BlockedURLError (message names the host) when any address is not
    allowed, OSError when the name does not resolve.
    """
    literal = parse_ip_literal(host)
    addresses = [unwrap_ip(literal)] if literal is not None else lookup(host, port, resolve)
    if policy.allows_host(host):
        return addresses
    for ip in addresses:
        if policy.allows_address(ip):
            continue
        reason = non_public_reason(ip)
        if reason is None:
            continue
        if literal is not None:
            why = f"{normalize_host(host)} is not a public address ({reason})"
        else:
            why = f"{normalize_host(host)} resolves to {ip}, not a public address ({reason})"
        raise BlockedURLError(host, f"{why}; {ALLOW_HINT}")
    return addresses


def check_url(url: str, policy: AddressPolicy, resolve: Resolve | None = None) -> None:
    """Refuse *url* unless it is http(s) and every address of its host is public or allowed.

    Use this to validate input (the "add source" form, the API); fetching must still
    go through `guarded_client` or the Scrapy middlewares, which vet again at connect time.
    """
    try:
        host, port = _split_http_url(url)
        try:
            vet_host(host, policy, port=port, resolve=resolve)
        except BlockedURLError as exc:
            raise BlockedURLError(url, exc.reason) from None
        except OSError as exc:
            raise BlockedURLError(url, f"the host {host!r} does not resolve ({exc})") from None
    except BlockedURLError as exc:
        logger.warning("Refused URL %s: %s", url, exc.reason)
        raise


# --- the guarded HTTP client ---------------------------------------------------------------


def guarded_client(
    policy: AddressPolicy,
    *,
    timeout: float = 30.0,
    resolve: Resolve | None = None,
    deadline: float | None = None,
) -> httpx.Client:
    """``core.guarded_http.guarded_client``, imported when first asked for: the crawl
    process imports this module for its checks only, and importing httpx cost each
    crawl 0.07 s."""
    from core.guarded_http import guarded_client as client

    return client(policy, timeout=timeout, resolve=resolve, deadline=deadline)
