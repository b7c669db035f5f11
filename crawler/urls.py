"""Canonical URLs: one story, one key, whatever tracking junk a link carries.

One canonicaliser is used everywhere (w3lib plus a tracker list). Its version
is stored with each story's key, so changing the rules later is a migration,
not a silent re-keying.

What is unified: host case, IDN vs punycode (punycode wins), Cyrillic vs
percent-encoded paths, query order, fragments, default ports, tracking
parameters, AMP and mobile variants. What is never removed: any other query
parameter. DLE and Bitrix sites address articles as ``index.php?newsid=7``;
dropping "unknown" parameters would merge every article of such a site.

The key (``url_key``) additionally ignores the scheme, a ``www.`` prefix and a
trailing slash: the same article is served under all of them, and the key
only has to identify it, not to be fetched.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

from courlan.urlutils import extract_domain
from w3lib.url import canonicalize_url as _w3lib_canonicalize
from w3lib.url import url_query_cleaner

CANONICALIZER_VERSION = 2

TRACKING_PARAMS = (
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id",
    "fbclid", "gclid", "yclid", "mc_cid", "mc_eid", "_openstat", "from", "ref", "rss",
    "ysclid", "dclid", "msclkid", "igshid", "_ga", "_gl", "ocid", "cmpid", "smid", "ito",
    "amp", "outputtype",
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_")
# Host labels that only select a mobile or AMP rendering of the same site.
RENDERING_LABELS = ("m", "mobile", "amp")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_AMP_SUFFIX = re.compile(r"/amp/?$|\.amp(?=\.html?$)", re.IGNORECASE)
_AMP_PREFIX = re.compile(r"^/amp(?=/)", re.IGNORECASE)


@lru_cache(maxsize=8192)
def canonicalize_url(url: str) -> str:
    """Lower-case punycode host, sorted query, no fragment, no trackers, no AMP/mobile marks.

    Cached: a pure function of the address, asked for the same one several times
    per story (the feed's known-story check, the canonical-URL choice, each
    claim's host and domain, the links an event signature reads).
    """
    try:
        canonical = str(_w3lib_canonicalize(_drop_tracking(url.strip())))
    except ValueError as exc:
        raise ValueError(f"cannot canonicalise URL {url!r}: {exc}") from exc
    parts = urlsplit(canonical)
    path = _AMP_PREFIX.sub("", _AMP_SUFFIX.sub("", parts.path)) or "/"
    return urlunsplit((parts.scheme, _netloc(parts), path, parts.query, ""))


def url_key(canonical_url: str) -> str:
    """The fixed-size identity stored in the unique index (scheme, www. and trailing / ignored)."""
    parts = urlsplit(canonical_url)
    host = parts.netloc.removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    identity = urlunsplit(("", host, path, parts.query, ""))
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def choose_canonical(fetched_url: str, link_canonical: str | None, og_url: str | None) -> str:
    """The canonical URL of a fetched page: its own claim if believable, else the fetched URL.

    ``rel=canonical`` wins over ``og:url``. A claim counts only if it is http(s)
    and on the page's own host or registrable domain (``m.example.com`` may
    claim ``www.example.com``), so a hostile page cannot claim another site's
    story and have the real one dropped as a duplicate. Relative claims are
    resolved against the fetched URL.
    """
    for claim in (link_canonical, og_url):
        if claim and claim.strip():
            resolved = urljoin(fetched_url, claim.strip())
            if _believable(fetched_url, resolved):
                return canonicalize_url(resolved)
    return canonicalize_url(fetched_url)


@lru_cache(maxsize=8192)
def registrable_domain(url: str) -> str | None:
    """``news.bbc.co.uk`` → ``bbc.co.uk`` (public-suffix aware, punycode); None for IPs."""
    host = urlsplit(canonicalize_url(url)).hostname
    if not host:
        return None
    domain = extract_domain(f"http://{host}/")
    return str(domain) if domain else None


def _believable(fetched_url: str, claim: str) -> bool:
    try:
        parts = urlsplit(claim)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        claim_host = urlsplit(canonicalize_url(claim)).hostname
        claim_domain = registrable_domain(claim)
    except ValueError:  # a malformed claim is no claim
        return False
    page_host = urlsplit(canonicalize_url(fetched_url)).hostname
    if page_host is not None and page_host == claim_host:
        return True
    page_domain = registrable_domain(fetched_url)
    return page_domain is not None and page_domain == claim_domain


def _netloc(parts: SplitResult) -> str:
    """Host without credentials or default port; the raw netloc if the port is malformed."""
    try:
        port = parts.port
    except ValueError:
        return parts.netloc
    host = _strip_rendering_label(parts.hostname or "")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme):
        return f"{host}:{port}"
    return host


def _drop_tracking(url: str) -> str:
    cleaned = str(url_query_cleaner(url, TRACKING_PARAMS, remove=True, keep_fragments=False))
    parts = urlsplit(cleaned)
    if not parts.query:
        return cleaned
    kept = [
        pair
        for pair in parts.query.split("&")
        if pair
        and not pair.split("=", 1)[0].lower().startswith(TRACKING_PREFIXES)
        and pair.split("=", 1)[0].lower() not in TRACKING_PARAMS
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(kept), ""))


def _strip_rendering_label(host: str) -> str:
    """``m.lenta.ru`` → ``lenta.ru``, but ``m.tj`` (a registrable domain itself) stays."""
    label, _, rest = host.partition(".")
    if label not in RENDERING_LABELS or not rest:
        return host
    domain = extract_domain(f"http://{host}/")
    if domain and (rest == domain or rest.endswith("." + domain)):
        return rest
    return host
