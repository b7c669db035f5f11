"""What a URL someone wants to add as a source really is: fetched once, then named.

``wirewatch sources add``, the admin form and ``POST /api/sources`` all call
`detect` before saving, so a 404, a host that does not resolve, a closed port
or a plain web page is refused with one line saying why, instead of being
saved and failing at every crawl afterwards. What it recognises:

* a feed: RSS (0.9x/2.0), Atom, RDF (RSS 1.0) or JSON Feed -> kind ``feed``;
* a sitemap, sitemap index or news sitemap -> kind ``sitemap``;
* an HTML page whose ``<link rel="alternate">`` names a feed: the feed is
  fetched and checked too, and *offered* (the caller asks, or takes it when told
  to); if the page also qualifies as a section page, that is the fallback;
* a section page: an HTML page (not itself an article) with at least
  `SECTION_MIN_LINKS` links on the same site shaped like articles -> kind ``section``;
* a Telegram channel (``t.me/<name>``, ``t.me/s/<name>``, ``@name``) -> kind
  ``telegram``, recognised from the address alone: previews are read at crawl time;
* with kind ``search``, a URL template with ``{query}``: filled with a sample
  word, the answer must be a feed.

Every fetch goes through `core.netguard.guarded_client`, so private addresses
are refused unless ``WIREWATCH_ALLOW_PRIVATE_HOSTS`` allows them; redirects are
followed (at most `MAX_REDIRECTS`), each hop vetted again.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from urllib.parse import quote, urljoin, urlsplit

import httpx
from core.errors import BlockedURLError, SourceError
from core.failures import Failure, FailureKind, one_line
from core.netguard import AddressPolicy, Resolve, guarded_client
from core.settings import Settings
from crawler.feeds import parse_feed
from db.models import SourceKind
from lxml import html as lxml_html

from wirewatch.catalog import CatalogError, SourceSpec, check_source, check_source_url

MAX_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
TIMEOUT = 15.0
SECTION_MIN_LINKS = 8
SEARCH_SAMPLE = "news"
USER_AGENT = str(Settings.model_fields["user_agent"].default)  # the operator's, when passed

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
    "application/json",
    "text/xml",
    "application/xml",
)
SITEMAP_NS = "sitemaps.org/schemas/sitemap"
NEWS_NS = b"google.com/schemas/sitemap-news"
TELEGRAM_HOSTS = frozenset({"t.me", "www.t.me", "telegram.me", "www.telegram.me", "telegram.dog"})

_PROLOG = re.compile(rb"\A\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)", re.DOTALL | re.IGNORECASE)
_ROOT = re.compile(rb"\A\s*<([A-Za-z_][\w.:-]*)")
_DATE_PATH = re.compile(r"/(19|20)\d\d[/-](0?[1-9]|1[0-2])([/-]|$)|(19|20)\d\d-\d\d-\d\d")
_ID = re.compile(r"\d{4,}")
_NOT_ARTICLE = re.compile(
    r"/(tags?|category|categories|rubric|author|authors|page|search|login|about|contacts?"
    r"|privacy|subscribe|rss|feed)(/|$)",
    re.IGNORECASE,
)
_FILE = re.compile(
    r"\.(jpe?g|png|gif|webp|svg|pdf|docx?|xlsx?|zip|mp[34]|css|js|xml)$", re.IGNORECASE
)


class SourceCheckError(CatalogError, SourceError):
    """The URL was fetched (or tried) and is no source wirewatch can read; ``failure`` says why."""

    field = "url"

    def __init__(self, url: str, failure: Failure) -> None:
        super().__init__(one_line(f"{url} was not added: {failure}"))
        self.url = url
        self.failure = failure


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Detection:
    """What was found at the address, and what to store.

    ``offered`` is set when the address was an HTML page naming a feed: ``url``
    and ``kind`` are then the feed's, ``page_url`` the page's, and
    ``fallback`` (if any) what to store when the offer is declined.
    """

    kind: SourceKind
    url: str
    found: str
    title: str = ""
    page_url: str | None = None
    offered: bool = False
    fallback: Detection | None = None
    notes: list[str] = field(default_factory=list)


def detect(
    url: str,
    policy: AddressPolicy,
    *,
    kind: SourceKind | None = None,
    timeout: float = TIMEOUT,
    resolve: Resolve | None = None,
    user_agent: str = USER_AGENT,
) -> Detection:
    """Fetch ``url`` and say what it is; SourceCheckError when it is nothing wirewatch reads.

    ``kind`` is what the user asked for, if anything: the finding must agree
    with it (a page offering a feed agrees with ``section`` when it qualifies).
    """
    address = url.strip()
    if kind == SourceKind.TELEGRAM or _looks_like_telegram(address):
        return _telegram(address)
    if kind == SourceKind.SEARCH:
        return _search(address, policy, timeout=timeout, resolve=resolve, user_agent=user_agent)
    with guarded_client(policy, timeout=timeout, resolve=resolve) as client:
        client.headers["User-Agent"] = user_agent
        fetched = fetch(client, address)
        found = classify(fetched)
        if found is None:
            raise SourceCheckError(address, _not_a_source(fetched))
        if found.offered:
            found = _confirm_offer(client, found)
    return _agree(address, found, kind)


def _agree(address: str, found: Detection, kind: SourceKind | None) -> Detection:
    if kind is None or found.kind == kind:
        return found
    if found.fallback is not None and found.fallback.kind == kind:
        return found.fallback
    raise SourceCheckError(
        address,
        Failure(FailureKind.NOT_A_SOURCE, f"asked for a {kind.value} source, found {found.found}"),
    )


# --- fetching ---------------------------------------------------------------------------


def fetch(client: httpx.Client, url: str) -> Fetched:
    """GET ``url``, following redirects; a SourceCheckError names any failure."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            with client.stream("GET", current, headers={"Accept": "*/*"}) as response:
                if response.is_redirect and "location" in response.headers:
                    current = urljoin(current, response.headers["location"])
                    continue
                if response.status_code >= 400:
                    raise SourceCheckError(url, _status_failure(response.status_code, current))
                body = bytearray()
                for chunk in response.iter_bytes():
                    body.extend(chunk)
                    if len(body) > MAX_BYTES:
                        raise SourceCheckError(
                            url,
                            Failure(
                                FailureKind.NOT_A_SOURCE,
                                f"the answer is larger than {MAX_BYTES // 1024 // 1024} MB",
                            ),
                        )
                return Fetched(
                    url=current,
                    status=response.status_code,
                    content_type=response.headers.get("content-type", ""),
                    body=bytes(body),
                )
        except SourceCheckError:
            raise
        except (httpx.HTTPError, BlockedURLError, OSError) as exc:
            raise SourceCheckError(url, classify_exception(exc, current)) from exc
    raise SourceCheckError(
        url, Failure(FailureKind.HTTP, f"more than {MAX_REDIRECTS} redirects (last: {current})")
    )


def _status_failure(status: int, url: str) -> Failure:
    try:
        from http import HTTPStatus

        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "error"
    return Failure(FailureKind.HTTP, f"{phrase} at {url}", status=status)


def classify_exception(exc: BaseException, url: str) -> Failure:
    """Name an httpx / socket / netguard failure: DNS, connection, TLS, timeout, refused address."""
    host = urlsplit(url).hostname or url
    if isinstance(exc, BlockedURLError):
        return Failure(FailureKind.REFUSED_ADDRESS, exc.reason)
    chain = _chain(exc)
    if any(isinstance(e, BlockedURLError) for e in chain):
        blocked = next(e for e in chain if isinstance(e, BlockedURLError))
        return Failure(FailureKind.REFUSED_ADDRESS, blocked.reason)
    if isinstance(exc, httpx.TimeoutException) or any(isinstance(e, TimeoutError) for e in chain):
        return Failure(FailureKind.TIMEOUT, f"{host} did not answer in time")
    if any(isinstance(e, ssl.SSLError) for e in chain) or "SSL" in str(exc):
        return Failure(FailureKind.TLS, f"TLS with {host} failed ({_short(exc)})")
    text = " ".join(str(e) for e in chain)
    if any(isinstance(e, socket.gaierror) for e in chain) or "cannot resolve" in text:
        return Failure(FailureKind.DNS, f"the host {host} does not resolve")
    if "refused" in text.lower():
        port = urlsplit(url).port or (443 if url.lower().startswith("https") else 80)
        return Failure(FailureKind.CONNECTION, f"connection refused by {host}:{port}")
    if isinstance(exc, httpx.ConnectError | httpx.NetworkError | ConnectionError):
        return Failure(FailureKind.CONNECTION, f"could not connect to {host} ({_short(exc)})")
    if isinstance(exc, httpx.RemoteProtocolError):
        return Failure(FailureKind.CONNECTION, f"{host} broke the HTTP exchange ({_short(exc)})")
    return Failure(FailureKind.OTHER, f"{type(exc).__name__}: {_short(exc)}")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _short(exc: BaseException) -> str:
    return one_line(str(exc) or type(exc).__name__, 160)


# --- what the answer is -----------------------------------------------------------------


def classify(fetched: Fetched) -> Detection | None:
    """The finding for one fetched answer, or None when it is no kind of source."""
    body = fetched.body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if body.startswith(b"{"):
        return _json_feed(fetched, body)
    root = _root_tag(body)
    if root is None:
        return None
    if root in ("html", "!doctype") or b"<html" in body[:2048].lower():
        return _html(fetched)
    if root in ("urlset", "sitemapindex"):
        return _sitemap(fetched, body, root)
    if root in ("rss", "feed", "rdf", "rdf:rdf"):
        return _feed(fetched)
    return None


def _root_tag(body: bytes) -> str | None:
    rest = body
    while True:
        prolog = _PROLOG.match(rest)
        if prolog is None:
            break
        rest = rest[prolog.end() :]
    if rest[:9].lower().startswith(b"<!doctype"):
        return "!doctype"
    match = _ROOT.match(rest)
    if match is None:
        return None
    return match.group(1).decode("ascii", "replace").lower()


def _feed(fetched: Fetched) -> Detection | None:
    parsed = parse_feed(fetched.body, base_url=fetched.url, content_type=fetched.content_type)
    head = _root_tag(fetched.body.lstrip(b"\xef\xbb\xbf \t\r\n")) or ""
    flavour = {"rss": "RSS", "feed": "Atom", "rdf": "RDF (RSS 1.0)", "rdf:rdf": "RDF (RSS 1.0)"}
    name = flavour.get(head, "RSS")
    if not parsed.entries and parsed.malformed and "not an RSS" in parsed.malformed:
        return None
    title = f" {parsed.title!r}" if parsed.title else ""
    notes = [f"malformed but readable: {parsed.malformed}"] if parsed.malformed else []
    return Detection(
        kind=SourceKind.FEED,
        url=fetched.url,
        found=f"{name} feed{title} with {_count(len(parsed.entries), 'entry', 'entries')}",
        title=parsed.title,
        notes=notes,
    )


def _json_feed(fetched: Fetched, body: bytes) -> Detection | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        return None
    items = data.get("items")
    count = len(items) if isinstance(items, list) else 0
    title = str(data.get("title") or "")
    return Detection(
        kind=SourceKind.FEED,
        url=fetched.url,
        found=f"JSON Feed{f' {title!r}' if title else ''} with {_count(count, 'item', 'items')}",
        title=title,
    )


def _sitemap(fetched: Fetched, body: bytes, root: str) -> Detection:
    urls = body.count(b"<loc>") + body.count(b"<loc ")
    if root == "sitemapindex":
        what = f"sitemap index naming {_count(urls, 'sitemap', 'sitemaps')}"
    elif NEWS_NS in body[:4096] or b"<news:news" in body:
        what = f"news sitemap with {_count(urls, 'URL', 'URLs')}"
    else:
        what = f"sitemap with {_count(urls, 'URL', 'URLs')}"
    return Detection(kind=SourceKind.SITEMAP, url=fetched.url, found=what)


def _html(fetched: Fetched) -> Detection | None:
    try:
        doc = lxml_html.document_fromstring(fetched.body, base_url=fetched.url)
    except (ValueError, lxml_html.etree.ParserError):
        return None
    title = " ".join((doc.findtext(".//title") or "").split())
    section = _section(fetched, doc, title)
    feeds = feed_links(doc, fetched.url)
    if feeds:
        return Detection(
            kind=SourceKind.FEED,
            url=feeds[0],
            found=f"an HTML page{f' {title!r}' if title else ''} naming the feed {feeds[0]}",
            title=title,
            page_url=fetched.url,
            offered=True,
            fallback=section,
        )
    return section


def _section(fetched: Fetched, doc: lxml_html.HtmlElement, title: str) -> Detection | None:
    og_type = doc.xpath('string(//meta[@property="og:type"]/@content)').strip().lower()
    if og_type == "article":
        return None
    links = article_links(doc, fetched.url)
    if len(links) < SECTION_MIN_LINKS:
        return None
    return Detection(
        kind=SourceKind.SECTION,
        url=fetched.url,
        found=f"a section page{f' {title!r}' if title else ''} with {len(links)} article links",
        title=title,
    )


def feed_links(doc: lxml_html.HtmlElement, base_url: str) -> list[str]:
    """Feeds the page names in ``<link rel="alternate" type="...">``, in page order."""
    found: list[str] = []
    for link in doc.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        href = (link.get("href") or "").strip()
        if "alternate" in rels and kind in FEED_TYPES and href:
            absolute = urljoin(base_url, href)
            if absolute.startswith(("http://", "https://")) and absolute not in found:
                found.append(absolute)
    return found


def article_links(doc: lxml_html.HtmlElement, base_url: str) -> list[str]:
    """Distinct links on the page's own site whose address is shaped like an article's.

    An article address has a date in its path, a numeric id of four digits or
    more, or a slug of three or more words; tag, author, paging and file
    links are not articles.
    """
    site = _site(base_url)
    page_path = urlsplit(base_url).path.rstrip("/")
    found: list[str] = []
    for anchor in doc.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith(("#", "mailto:", "javascript:", "tel:")):
            continue
        absolute = urljoin(base_url, href).split("#", 1)[0]
        parts = urlsplit(absolute)
        if parts.scheme not in ("http", "https") or _site(absolute) != site:
            continue
        path = parts.path.rstrip("/")
        if not path or path == page_path or _NOT_ARTICLE.search(path) or _FILE.search(path):
            continue
        last = path.rsplit("/", 1)[-1]
        words = [w for w in re.split(r"[-_]+", re.sub(r"\.\w{2,5}$", "", last)) if w]
        if (_DATE_PATH.search(path) or _ID.search(last) or len(words) >= 3) and (
            absolute not in found
        ):
            found.append(absolute)
    return found


def _site(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def _confirm_offer(client: httpx.Client, offer: Detection) -> Detection:
    """Fetch the feed the page names; if it is not one, what the page itself is (or nothing)."""
    page = offer.page_url or offer.url
    try:
        feed = classify(fetch(client, offer.url))
    except SourceCheckError as exc:
        feed = None
        problem = str(exc.failure)
    else:
        problem = "not a feed"
    if feed is None or feed.kind != SourceKind.FEED:
        if offer.fallback is not None:
            note = f"the page names the feed {offer.url}, but it could not be used ({problem})"
            return replace(offer.fallback, notes=[*offer.fallback.notes, note])
        raise SourceCheckError(
            page,
            Failure(
                FailureKind.NOT_A_SOURCE,
                f"an HTML page naming the feed {offer.url}, which could not be used ({problem})",
            ),
        )
    return replace(offer, found=f"{offer.found}: {feed.found}", notes=feed.notes)


def _not_a_source(fetched: Fetched) -> Failure:
    kind = fetched.content_type.split(";")[0].strip() or "no content type"
    if _root_tag(fetched.body.lstrip()) in ("html", "!doctype") or "html" in kind:
        what = (
            "an HTML page that names no feed and has too few article links to follow "
            f"as a section (fewer than {SECTION_MIN_LINKS})"
        )
    else:
        what = f"the answer ({kind}) is not a feed, sitemap or HTML page"
    return Failure(FailureKind.NOT_A_SOURCE, what)


# --- sources recognised without fetching, or fetched differently ---------------------------


def _looks_like_telegram(address: str) -> bool:
    if address.startswith("@"):
        return True
    link = address if "://" in address else f"https://{address}"
    try:
        host = (urlsplit(link).hostname or "").lower()
    except ValueError:
        return False
    return host in TELEGRAM_HOSTS


def _telegram(address: str) -> Detection:
    from crawler.telegram import telegram_preview_url

    try:
        preview = telegram_preview_url(address)
    except SourceError as exc:
        raise SourceCheckError(address, Failure(FailureKind.NOT_A_SOURCE, str(exc))) from exc
    channel = preview.rsplit("/", 1)[-1]
    return Detection(
        kind=SourceKind.TELEGRAM,
        url=preview,
        found=f"the Telegram channel @{channel} (its public preview is read at crawl time)",
        title=channel,
    )


def _search(
    template: str,
    policy: AddressPolicy,
    *,
    timeout: float,
    resolve: Resolve | None,
    user_agent: str,
) -> Detection:
    if "{query}" not in template:
        raise SourceCheckError(
            template,
            Failure(
                FailureKind.NOT_A_SOURCE,
                "a search feed's URL is a template with {query} where the topic's words go",
            ),
        )
    sample = template.replace("{query}", quote(SEARCH_SAMPLE))
    with guarded_client(policy, timeout=timeout, resolve=resolve) as client:
        client.headers["User-Agent"] = user_agent
        found = classify(fetch(client, sample))
    if found is None or found.kind != SourceKind.FEED or found.offered:
        raise SourceCheckError(
            template,
            Failure(
                FailureKind.NOT_A_SOURCE,
                f"searching for {SEARCH_SAMPLE!r} ({sample}) did not answer with a feed",
            ),
        )
    return Detection(
        kind=SourceKind.SEARCH,
        url=template,
        found=f"a search feed: searching for {SEARCH_SAMPLE!r} gives {found.found}",
        title=found.title,
    )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def guess_kind(address: str) -> SourceKind:
    """The kind of an address saved unchecked: its shape only (Telegram, search, else feed)."""
    if _looks_like_telegram(address.strip()):
        return SourceKind.TELEGRAM
    if "{query}" in address:
        return SourceKind.SEARCH
    return SourceKind.FEED


def name_for(url: str, kind: SourceKind) -> str:
    """A source name from the address: the host without ``www.`` (``tg-<channel>`` for Telegram)."""
    if kind == SourceKind.TELEGRAM:
        from crawler.telegram import telegram_preview_url

        try:
            channel = telegram_preview_url(url).rsplit("/", 1)[-1]
        except SourceError:
            return "telegram"
        return f"tg-{channel}"[:100]
    return name_from_url(url)


def name_from_url(url: str) -> str:
    """``https://www.asiaplustj.info/ru/news`` -> ``asiaplustj.info``."""
    address = url if "://" in url else f"https://{url}"
    try:
        host = (urlsplit(address.replace("{query}", "q")).hostname or "").lower()
    except ValueError:
        host = ""
    name = re.sub(r"[^a-z0-9_.-]+", "-", host.removeprefix("www.")).strip("-._")
    return name[:100] or "source"


# --- one path for every front end -------------------------------------------------------


class OfferDeclined(SourceCheckError):
    """The page names a feed, the feed was declined, and the page is no section to follow."""


@dataclass(frozen=True)
class NewSource:
    """A checked definition ready to save, and what the check found (None: not fetched)."""

    spec: SourceSpec
    detection: Detection | None


def check_new_source(
    *,
    url: str,
    name: str | None,
    kind: SourceKind | None,
    language: str | None,
    interval_minutes: int | str | None,
    default_interval: int,
    policy: AddressPolicy,
    fetch_first: bool = True,
    take_offer: Callable[[Detection], bool] = lambda _: False,
    timeout: float = TIMEOUT,
    user_agent: str = USER_AGENT,
) -> NewSource:
    """The catalog's rules on what was typed, then (``fetch_first``) the check of what is there.

    ``take_offer`` is asked when the address is a page naming a feed: True stores
    the feed, False the page as a section (OfferDeclined when it is none).
    Without a name, the source is named after the address's host.
    """
    given = url.strip()
    first_kind = kind or guess_kind(given)
    spec = check_source(
        name=name if name is not None else name_for(given, first_kind),
        url=given,
        kind=first_kind,
        language=language,
        interval_minutes=interval_minutes,
        default_interval=default_interval,
        policy=policy,
    )
    if not fetch_first:
        return NewSource(spec, None)
    found = detect(
        spec.url if first_kind == SourceKind.TELEGRAM else given,
        policy,
        kind=kind,
        timeout=timeout,
        user_agent=user_agent,
    )
    if found.offered and not take_offer(found):
        if found.fallback is None:
            raise OfferDeclined(
                given,
                Failure(
                    FailureKind.NOT_A_SOURCE,
                    f"{found.found}; without that feed the page is no section page to follow",
                ),
            )
        found = found.fallback
    named_after = found.page_url or found.url
    return NewSource(
        replace(
            spec,
            name=spec.name if name is not None else name_for(named_after, found.kind),
            url=check_source_url(found.url, found.kind, policy),
            kind=found.kind,
        ),
        found,
    )


class FeedOffered(CatalogError, SourceError):
    """The address is a page naming a feed, and the caller has not said whether to take it."""

    field = "url"

    def __init__(self, found: Detection) -> None:
        page = found.page_url or found.url
        then = (
            "or follow the page itself as a section page"
            if found.fallback is not None
            else "(the page itself is no section page to follow)"
        )
        super().__init__(one_line(f"{page} is {found.found}: take that feed, {then}"))
        self.detection = found


def answer_offer(take: bool | None) -> Callable[[Detection], bool]:
    """For callers that cannot ask (web form, API): take, decline, or None to be told first."""

    def decide(found: Detection) -> bool:
        if take is None:
            raise FeedOffered(found)
        return take

    return decide
