"""A fixture news site with one path per kind of address someone may add as a source.

Written pages (a homepage naming its feed, a section page without a feed, an
article page, a page that is nothing) plus a feed of each format; real feeds
from ``../shared/corpora/news`` are served too when that corpus is present.
"""

from __future__ import annotations

import json
import socket

from tests.conftest import CORPORA
from tests.servers.sites import Page

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Dushanbe Herald</title><link>http://herald.test/</link>
<description>news</description>
<item><title>MVD opens an office in Moscow</title><link>http://herald.test/news/2026/11/mvd-office</link>
<pubDate>Mon, 30 Nov 2026 08:00:00 GMT</pubDate></item>
<item><title>Labour migration deal signed</title><link>http://herald.test/news/2026/11/labour-deal</link>
<pubDate>Mon, 30 Nov 2026 09:00:00 GMT</pubDate></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Asia Wire</title><id>urn:asia-wire</id>
<updated>2026-11-30T08:00:00Z</updated>
<entry><title>Police liaison officer posted</title><id>urn:1</id>
<link href="http://wire.test/a/1"/><updated>2026-11-30T08:00:00Z</updated></entry>
</feed>"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="http://vestnik.test/"><title>Vestnik</title><link>http://vestnik.test/</link>
<description>d</description></channel>
<item rdf:about="http://vestnik.test/1"><title>One</title><link>http://vestnik.test/1</link></item>
</rdf:RDF>"""

JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Akhbor",
        "items": [{"id": "1", "url": "http://akhbor.test/1", "title": "Ахбор"}],
    }
).encode()

SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>http://herald.test/news/a</loc><lastmod>2026-11-30</lastmod></url>
<url><loc>http://herald.test/news/b</loc><lastmod>2026-11-29</lastmod></url>
</urlset>"""

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>http://herald.test/news/a</loc><news:news><news:publication>
<news:name>Herald</news:name><news:language>ru</news:language></news:publication>
<news:publication_date>2026-11-30T08:00:00Z</news:publication_date>
<news:title>A</news:title></news:news></url>
</urlset>"""

SITEMAP_INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>http://herald.test/sitemap.xml</loc></sitemap>
<sitemap><loc>http://herald.test/news-sitemap.xml</loc></sitemap>
</sitemapindex>"""

ARTICLE_LINKS = "".join(
    f'<li><a href="/news/2026/11/{n:02d}/ministry-signs-deal-{n}">Ministry signs deal {n}</a></li>'
    for n in range(1, 13)
)
NAV = '<a href="/">home</a> <a href="/about">about</a> <a href="/tag/police">police</a>'


def _html(title: str, head: str = "", body: str = "") -> bytes:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>{head}</head>"
        f"<body><nav>{NAV}</nav>{body}</body></html>"
    ).encode()


HOME = _html(
    "Dushanbe Herald",
    '<link rel="alternate" type="application/rss+xml" title="News" href="/rss.xml">',
    f"<ul>{ARTICLE_LINKS}</ul>",
)
HOME_BROKEN_FEED = _html(
    "Broken", '<link rel="alternate" type="application/rss+xml" href="/missing.xml">'
)
SECTION = _html("Ministry news", body=f"<h1>News</h1><ul>{ARTICLE_LINKS}</ul>")
ARTICLE = _html(
    "Ministry signs deal",
    '<meta property="og:type" content="article">',
    f"<article><p>Text.</p></article><aside><ul>{ARTICLE_LINKS}</ul></aside>",
)
ABOUT = _html("About us", body="<p>We are a newspaper.</p>")

XML = "application/xml"


def pages() -> dict[str, Page]:
    """Every path of the fixture site."""
    served = {
        "/rss.xml": Page(RSS, "application/rss+xml"),
        "/atom.xml": Page(ATOM, "application/atom+xml"),
        "/rdf.xml": Page(RDF, "application/rdf+xml"),
        "/feed.json": Page(JSON_FEED, "application/feed+json"),
        "/sitemap.xml": Page(SITEMAP, XML),
        "/news-sitemap.xml": Page(NEWS_SITEMAP, XML),
        "/sitemap-index.xml": Page(SITEMAP_INDEX, XML),
        "/": Page(HOME),
        "/broken-feed": Page(HOME_BROKEN_FEED),
        "/news": Page(SECTION),
        "/news/2026/11/01/ministry-signs-deal-1": Page(ARTICLE),
        "/about": Page(ABOUT),
        "/logo.png": Page(b"\x89PNG\r\n\x1a\n0000", "image/png"),
        "/moved": Page(b"", status=301, location="/rss.xml"),
        "/search": Page(RSS, "application/rss+xml"),
        "/broken-search": Page(ABOUT),
    }
    real = CORPORA / "news" / "feeds"
    if real.is_dir():
        for name in (
            "en_themoscowtimes.com_rss2.xml",
            "de_heise.de_developer_atom.xml",
            "de_orf.at_rss1-rdf.xml",
            "ru_oren.ru_rss2_windows-1251.xml",
        ):
            path = real / name
            if path.is_file():
                served[f"/real/{name}"] = Page(path.read_bytes(), "application/xml")
    return served


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
