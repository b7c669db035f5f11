"""Hostile and broken documents served under /_faults/ (bodies only, no HTTP).

Each builder takes the server's root URL so items link back into the fixture
outlets with absolute URLs, the way a real broken feed still points at real pages.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Sequence
from email.utils import formatdate
from html import escape
from pathlib import Path

from wirewatch.demo_site.manifest import Story

GZIP_BOMB_INFLATED_BYTES = 100 * 1024 * 1024
_BOMB_PREFIX = b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>'
_bomb_lock = threading.Lock()
_bomb_cache: list[bytes] = []


def gzip_bomb() -> bytes:
    """~100 KB of gzip that inflates to 100 MiB of feed-shaped whitespace; built once."""
    with _bomb_lock:
        if not _bomb_cache:
            packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            chunk = b" " * (1 << 20)
            parts = [packer.compress(_BOMB_PREFIX)]
            remaining = GZIP_BOMB_INFLATED_BYTES - len(_BOMB_PREFIX)
            while remaining > 0:
                parts.append(packer.compress(chunk[:remaining]))
                remaining -= len(chunk)
            parts.append(packer.flush())
            _bomb_cache.append(b"".join(parts))
        return _bomb_cache[0]


def _rss(title: str, link: str, items: Sequence[str], encoding: str = "utf-8") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0">\n<channel>\n'
        f"<title>{title}</title>\n<link>{link}</link>\n<description>{title}</description>\n"
        + "\n".join(items)
        + "\n</channel>\n</rss>\n"
    )


def _item(title: str, link: str, description: str, pub_date: str, guid: str = "") -> str:
    guid_tag = f'\n<guid isPermaLink="false">{guid}</guid>' if guid else ""
    return (
        f"<item>\n<title>{title}</title>\n<link>{link}</link>{guid_tag}\n"
        f"<pubDate>{pub_date}</pubDate>\n<description>{description}</description>\n</item>"
    )


def _rfc822(story: Story) -> str:
    return formatdate(story.published.timestamp(), localtime=False, usegmt=True)


def malformed_feed(root_url: str, stories: Sequence[Story]) -> bytes:
    """RSS that no strict XML parser accepts but a forgiving one can still read.

    Bare ampersands, an HTML entity XML does not define, unclosed inline tags
    and a channel that is never closed; every item still has a title, a link
    into an outlet and a date.
    """
    items = [
        f"<item>\n<title>{escape(story.title, quote=False)} & more</title>\n"
        f"<link>{story.url(root_url)}</link>\n<pubDate>{_rfc822(story)}</pubDate>\n"
        f"<description>Read <b>the full story &nbsp;on the site & share it</description>\n"
        "</item>"
        for story in stories
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0">\n<channel>\n'
        f"<title>News & views <i>digest</title>\n<link>{root_url}/</link>\n"
        + "\n".join(items)
        + "\n"
    ).encode()


def xss_feed(root_url: str, stories: Sequence[Story]) -> bytes:
    """Items whose HTML tries every usual way to run script in a reader's browser."""
    links = [story.url(root_url) for story in stories] or [f"{root_url}/"]
    date = formatdate(1793000000, usegmt=True)
    payloads = [
        ("Script tag", "<p>Hello</p><script>alert('xss-script')</script><p>world</p>"),
        ("Image onerror", '<img src="x" onerror="alert(\'xss-onerror\')"> caption'),
        ("JS link", "<a href=\"javascript:alert('xss-href')\">click</a>"),
        (
            "Iframe and style",
            (
                "<iframe src=\"javascript:alert('xss-iframe')\"></iframe>"
                "<style>body{background:url(javascript:alert('xss-style'))}</style>text"
            ),
        ),
        (
            "SVG script",
            (
                "<svg><script>alert('xss-svg')</script></svg>"
                '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">'
            ),
        ),
    ]
    items = [
        _item(
            escape(f"{name} <b onmouseover=\"alert('xss-title')\">bold</b>", quote=False),
            links[i % len(links)],
            f"<![CDATA[{html}]]>",
            date,
        )
        for i, (name, html) in enumerate(payloads)
    ]
    items.append(
        _item(
            "Item whose link is javascript:",
            "javascript:alert('xss-link')",
            "<![CDATA[<p>plain</p>]]>",
            date,
        )
    )
    return _rss("XSS probe feed", f"{root_url}/", items).encode()


def billion_laughs() -> bytes:
    """The classic entity-expansion bomb: under 1 KB, a gigabyte once expanded."""
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    ]
    doctype = "<!DOCTYPE rss [\n " + "\n ".join(entities) + "\n]>"
    return (
        f'<?xml version="1.0"?>\n{doctype}\n<rss version="2.0"><channel><title>&lol9;</title>'
        "<link>http://127.0.0.1/</link><description>&lol9;</description>"
        "<item><title>&lol9;</title><description>&lol9;</description></item>"
        "</channel></rss>\n"
    ).encode()


def xxe_feed(root_url: str, file_path: Path) -> bytes:
    """External entities: one names a local file, one a URL on this server (the canary)."""
    doctype = (
        "<!DOCTYPE rss [\n"
        f' <!ENTITY xxe SYSTEM "{file_path.as_uri()}">\n'
        f' <!ENTITY canary SYSTEM "{root_url}/_faults/xxe-canary">\n'
        "]>"
    )
    item = _item(
        "Local file: &xxe;",
        f"{root_url}/_faults/xxe.xml#item",
        "&xxe; &canary;",
        formatdate(1793000000, usegmt=True),
    )
    body = _rss("XXE probe &xxe;", f"{root_url}/", [item])
    return body.replace("?>\n", f"?>\n{doctype}\n", 1).encode()


def cp1251_declared_utf8(root_url: str, stories: Sequence[Story]) -> bytes:
    """A Russian feed whose bytes are windows-1251 while its declaration says UTF-8."""
    items = [
        _item(
            escape(story.title, quote=False),
            story.url(root_url),
            "Полный текст читайте на сайте издания.",
            _rfc822(story),
        )
        for story in stories
    ]
    body = _rss("Новости: лента с неверной кодировкой", f"{root_url}/", items)
    return body.encode("cp1251")


def changing_feed(root_url: str, key: str, version: int, now: float) -> bytes:
    """One developing story whose text is different at every version."""
    link = f"{root_url}/_faults/changing/story.html?key={key}"
    item = _item(
        f"Water supply restored in three districts (update {version})",
        escape(link, quote=False),
        f"Update {version}: crews restored supply to {version * 1000} more homes overnight.",
        formatdate(1793000000, usegmt=True),
        guid=f"fault-changing-{escape(key, quote=False)}",
    )
    body = _rss("Developing stories", f"{root_url}/_faults/", [item])
    return body.replace(
        "<description>Developing stories</description>",
        f"<description>Developing stories</description>\n"
        f"<lastBuildDate>{formatdate(now, usegmt=True)}</lastBuildDate>",
    ).encode()


def changing_page(key: str, version: int) -> bytes:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Water supply restored (update {version})</title></head><body>"
        f"<article><h1>Water supply restored in three districts (update {version})</h1>"
        '<time datetime="2026-11-25T08:00:00+05:00">25 November 2026</time>'
        f"<p>Update {version}: crews restored supply to {version * 1000} more homes "
        f"overnight, the city utility said.</p><p>Story key {escape(key)}.</p>"
        "</article></body></html>\n"
    ).encode()


def small_feed(root_url: str, title: str, stories: Sequence[Story]) -> bytes:
    items = [
        _item(escape(story.title, quote=False), story.url(root_url), "Summary.", _rfc822(story))
        for story in stories
    ]
    return _rss(escape(title, quote=False), f"{root_url}/", items).encode()


def robots_feed(base_url: str) -> bytes:
    """The feed of a host whose robots.txt forbids or cannot be read."""
    date = formatdate(1793000000, usegmt=True)
    items = [
        _item(
            f"Story {n} behind robots.txt",
            f"{base_url}/story-{n}.html",
            f"Summary of story {n}.",
            date,
        )
        for n in (1, 2)
    ]
    return _rss("Host with a restrictive robots.txt", f"{base_url}/", items).encode()


def robots_page(number: int) -> bytes:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Story {number} behind robots.txt</title></head><body><article>"
        f"<h1>Story {number} behind robots.txt</h1>"
        '<time datetime="2026-11-25T10:00:00+03:00">25 November 2026</time>'
        "<p>A polite crawler never reads this sentence.</p></article></body></html>\n"
    ).encode()
