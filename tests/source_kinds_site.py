"""The fixture sites of the source-kind tests: pages written for them, dated relative to now.

* a **sitemap site**: robots.txt names a news sitemap index; the index lists a
  recent child sitemap and a 2019 archive one; the recent one lists two new
  articles (with ``news:news``), an old one and an undated one;
* a **site without a feed**: a ministry-style press section with menus, a
  sidebar, a footer, article cards with dates, and a notices page whose links
  have no article shape (found only by a CSS rule);
* a **search endpoint**: RSS answering ``/search/rss?q=...`` with items that
  link to the other site's articles.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape

from tests.servers.newsroom import Newsroom

PARAGRAPHS = [
    (
        "The interior ministries of Tajikistan and Russia signed an agreement on Tuesday "
        "that lets each country post police liaison officers at its embassy in the other's "
        "capital, officials said after the meeting in Dushanbe."
    ),
    (
        "Under the agreement the liaison officers will exchange information on labour "
        "migrants who go missing, on fraud by recruitment agencies and on wanted persons, "
        "and will help migrants who are detained to reach consular staff quickly."
    ),
    (
        "Deputy ministers from both sides told reporters that the first officers would take "
        "up their posts early next year, once both parliaments ratify the text, and that the "
        "office in Moscow would work alongside the embassy's migration department."
    ),
    (
        "Rights groups welcomed the attention to detained migrants but asked that the "
        "exchange of personal data be bound by clear rules and reviewed by courts, citing "
        "past cases in which migrants were deported without a hearing."
    ),
]


def article_page(title: str, published: datetime, lead: str) -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in [lead, *PARAGRAPHS])
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{escape(title)}</title>
<meta property="og:title" content="{escape(title)}">
<meta property="article:published_time" content="{published.isoformat()}">
</head><body>
<header><nav><a href="/">Home</a> <a href="/about">About</a></nav></header>
<main><article><h1>{escape(title)}</h1>
<time datetime="{published.isoformat()}">{published:%d %B %Y}</time>
{body}</article></main>
<footer><a href="/contacts">Contacts</a></footer></body></html>"""


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def build_sitemap_site(site: Newsroom, now: datetime) -> dict[str, str]:
    """The sitemap site; returns {url: title} of the articles a crawl must store."""
    base = site.base_url
    site.put(
        "/robots.txt",
        f"User-agent: *\nAllow: /\n\nSitemap: {base}/maps/news-index.xml\n",
        "text/plain",
    )
    site.put("/", "<html><body><h1>Wire</h1><p>No feed here.</p></body></html>")
    fresh = now - timedelta(hours=1)
    site.put(
        "/maps/news-index.xml",
        f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>{base}/maps/news-latest.xml</loc><lastmod>{_stamp(fresh)}</lastmod></sitemap>
  <sitemap><loc>{base}/maps/archive-2019.xml</loc><lastmod>2019-05-01T00:00:00+00:00</lastmod></sitemap>
</sitemapindex>""",
        "application/xml",
    )
    articles = {
        "/news/2026/liaison-office-agreement-signed": (
            "Tajik and Russian police to post liaison officers at embassies",
            now - timedelta(hours=2),
        ),
        "/news/2026/migrant-helpline-opens": (
            "Helpline for detained labour migrants opens in Moscow",
            now - timedelta(hours=5),
        ),
    }
    entries = "".join(
        f"""<url><loc>{base}{path}</loc>
  <news:news><news:publication><news:name>Wire</news:name><news:language>en</news:language>
  </news:publication><news:publication_date>{_stamp(when)}</news:publication_date>
  <news:title>{escape(title)}</news:title></news:news></url>"""
        for path, (title, when) in articles.items()
    )
    site.put(
        "/maps/news-latest.xml",
        f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
{entries}
<url><loc>{base}/news/2018/old-story</loc><lastmod>2018-03-01</lastmod></url>
<url><loc>{base}/news/undated-story</loc></url>
</urlset>""",
        "application/xml",
    )
    site.put("/maps/archive-2019.xml", "<urlset/>", "application/xml")
    for path, (title, when) in articles.items():
        # The page's own headline differs: the sitemap's news:title is kept.
        site.put(path, article_page(title + " (page)", when, f"{title}."))
    for path in ("/news/2018/old-story", "/news/undated-story"):
        site.put(path, article_page("Not to be fetched", now, "Old."))
    return {f"{base}{path}": title for path, (title, _) in articles.items()}


SECTION_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Press</title></head>
<body>
<header class="masthead"><a href="/">Ministry</a>
<nav class="main-menu"><a href="/about">About the ministry</a> <a href="/press/">Press</a>
<a href="/contacts">Contacts</a> <a href="/press/2026/12/ministers-meet-in-dushanbe-9001">Top: ministers meet in Dushanbe today</a></nav></header>
<div id="content"><main>
<h1>Press releases</h1>
<div class="news-list">
{cards}
</div>
<div class="pagination"><a href="/press/page/2">2</a> <a href="/press/page/3">3</a></div>
</main>
<aside class="sidebar"><h3>Popular</h3>
<a href="/press/2025/01/an-old-popular-release-about-visas-77">An old popular release about visas</a></aside>
</div>
<footer><a href="/privacy">Privacy policy</a> <a href="/tag/police">police</a></footer>
</body></html>"""

NOTICES_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Notices</title></head>
<body><nav><a href="/">Home</a></nav><main><h1>Notices</h1>
<ul class="notice-list">
<li><a href="/notice?id=1">Liaison</a></li>
<li><a href="/notice?id=2">Helpline</a></li>
</ul></main></body></html>"""


def build_section_site(site: Newsroom, now: datetime) -> dict[str, str]:
    """The site without a feed; returns {url: title} of the press releases on its section page."""
    releases = {
        "/press/2026/12/police-liaison-office-agreement-4101": "Agreement on police liaison offices signed with Russia",
        "/press/2026/12/deputy-minister-meets-migrant-associations-4102": "Deputy minister meets associations of labour migrants",
        "/press/2026/12/consular-help-for-detained-citizens-4103": "Consular help for citizens detained abroad to be faster",
    }
    cards = "".join(
        f"""<div class="card"><a href="{path}"><img src="/img/{i}.jpg" alt=""></a>
<h2><a href="{path}">{escape(title)}</a></h2><span class="date">{(now - timedelta(hours=i + 1)):%d.%m.%Y %H:%M}</span></div>"""
        for i, (path, title) in enumerate(releases.items())
    )
    site.put("/press/", SECTION_PAGE.replace("{cards}", cards))
    for i, (path, title) in enumerate(releases.items()):
        site.put(path, article_page(title, now - timedelta(hours=i + 1), f"{title}."))
    site.put("/notices/", NOTICES_PAGE)
    for n, title in (
        (1, "Notice on the liaison office hours"),
        (2, "Notice on the migrant helpline"),
    ):
        site.put(f"/notice?id={n}", article_page(title, now - timedelta(hours=n), f"{title}."))
    site.put("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
    return {f"{site.base_url}{path}": title for path, title in releases.items()}


def search_feed(items: list[tuple[str, str]]) -> str:
    """An RSS answer of a news search engine: (title, link) items."""
    now = datetime.now(UTC)
    entries = "".join(
        f"""<item><title>{escape(title)}</title><link>{escape(link)}</link>
<pubDate>{(now - timedelta(hours=1)).strftime("%a, %d %b %Y %H:%M:%S +0000")}</pubDate>
<description>{escape(title)}</description></item>"""
        for title, link in items
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Search results</title><link>http://search.example/</link>
<description>results</description>{entries}</channel></rss>"""
