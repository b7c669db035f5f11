"""Facts a page states in its head: Open Graph, Twitter cards, Dublin Core, rel=canonical.

Collected in one pass over ``<meta>``/``<link>`` so every later rule reads a
dictionary instead of re-querying the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin

from lxml.html import HtmlElement

# Microdata dates written on visible elements (<time>, <span content=...>).
_ITEMPROP_DATES = frozenset({"datepublished", "datemodified", "datecreated", "uploaddate"})


@dataclass(frozen=True)
class PageMeta:
    values: dict[str, list[str]] = field(default_factory=dict)
    canonical: str | None = None
    html_lang: str | None = None
    title_tag: str | None = None
    h1: list[str] = field(default_factory=list)

    def first(self, *keys: str) -> str | None:
        for key in keys:
            for value in self.values.get(key, ()):
                if value.strip():
                    return value.strip()
        return None

    def all(self, *keys: str) -> list[str]:
        return [v.strip() for key in keys for v in self.values.get(key, ()) if v.strip()]


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text or None


def read_page_meta(tree: HtmlElement, url: str | None = None) -> PageMeta:
    values: dict[str, list[str]] = {}
    for meta in tree.iter("meta"):
        key = (
            meta.get("property")
            or meta.get("name")
            or meta.get("itemprop")
            or meta.get("http-equiv")
        )
        # Some CMSs write value= where the standard says content=.
        content = meta.get("content") or meta.get("datetime") or meta.get("value")
        if key and content:
            values.setdefault(key.strip().lower(), []).append(content)
    for el in tree.xpath("//body//*[@itemprop][@datetime or @content]"):
        prop = el.get("itemprop", "").strip().lower()
        if el.tag != "meta" and prop in _ITEMPROP_DATES:
            values.setdefault(prop, []).append(el.get("datetime") or el.get("content", ""))
    canonical = None
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        href = (link.get("href") or "").strip()
        if "canonical" in rel and href:
            canonical = urljoin(url, href) if url else href
            break
    html_lang = tree.get("lang") or tree.get("xml:lang") if tree.tag == "html" else None
    title_el = tree.find(".//title")
    h1 = [t for t in (_clean(h.text_content()) for h in tree.iter("h1")) if t]
    return PageMeta(
        values=values,
        canonical=canonical,
        html_lang=html_lang,
        title_tag=_clean(title_el.text_content()) if title_el is not None else None,
        h1=h1,
    )
