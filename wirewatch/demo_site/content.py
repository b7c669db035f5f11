"""The outlets' own files: URL to file, Content-Type, and the {{BASE}} substitution.

Files on disk hold ``{{BASE}}`` (the outlet's base URL) and ``{{ROOT}}`` (the
server's root URL) so that feeds and pages carry absolute links to whatever port
the server got. The substitution works on bytes: both placeholders are ASCII,
and in UTF-8 and windows-1251 an ASCII byte never occurs inside another
character, so no file needs decoding.

Query-keyed pages (``index.php?newsid=1041``) come from the manifest's story
entries; any other URL maps to a file of the same path, with ``index.html`` for
directory URLs and the query string ignored, as a static web server would.
Tracking parameters never change which page is served.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode

from wirewatch.demo_site.manifest import Manifest, Outlet

TRACKING_PREFIXES = ("utm_",)
TRACKING_NAMES = frozenset({"fbclid", "gclid", "yclid", "_openstat"})

_TYPES = {
    ".html": "text/html",
    ".xml": "application/xml",
    ".txt": "text/plain",
    ".css": "text/css",
    ".json": "application/json",
}


@dataclass(frozen=True)
class OutletFile:
    path: Path
    content_type: str


def substitute(data: bytes, base_url: str, root_url: str) -> bytes:
    return data.replace(b"{{BASE}}", base_url.encode("ascii")).replace(
        b"{{ROOT}}", root_url.encode("ascii")
    )


def significant_query(query: str) -> str:
    """The query without tracking parameters, sorted, for matching keyed routes."""
    pairs = [
        (name, value)
        for name, value in parse_qsl(query, keep_blank_values=True)
        if not name.startswith(TRACKING_PREFIXES) and name not in TRACKING_NAMES
    ]
    return urlencode(sorted(pairs))


class OutletFiles:
    """Resolves a request inside one outlet to a file under the sites root."""

    def __init__(self, manifest: Manifest) -> None:
        self._manifest = manifest
        self._outlets = {outlet.slug: outlet for outlet in manifest.outlets}
        self._keyed: dict[tuple[str, str, str], str] = {}
        self._keyed_paths: set[tuple[str, str]] = set()
        for story in manifest.stories():
            path, sep, query = story.path.partition("?")
            if sep:
                self._keyed[(story.outlet, path, significant_query(query))] = story.file
                self._keyed_paths.add((story.outlet, path))

    @property
    def slugs(self) -> list[str]:
        return list(self._outlets)

    def outlet(self, slug: str) -> Outlet | None:
        return self._outlets.get(slug)

    def lookup(self, slug: str, rel_path: str, query: str) -> OutletFile | None:
        """The file for ``/<slug>/<rel_path>?<query>``, or None when nothing lives there."""
        outlet = self._outlets.get(slug)
        rel = _safe_relative(unquote(rel_path))
        if outlet is None or rel is None:
            return None
        if (slug, rel) in self._keyed_paths:
            keyed = self._keyed.get((slug, rel, significant_query(query)))
            return None if keyed is None else self._file(outlet, keyed)
        if rel == "" or rel.endswith("/"):
            rel += "index.html"
        return self._file(outlet, rel)

    def _file(self, outlet: Outlet, rel: str) -> OutletFile | None:
        outlet_dir = self._manifest.root / outlet.slug
        path = outlet_dir / rel
        if not path.is_file() or not path.resolve().is_relative_to(outlet_dir.resolve()):
            return None
        return OutletFile(path, _content_type(outlet, rel))


def _safe_relative(path: str) -> str | None:
    """The path without a leading slash, or None if it tries to leave the outlet."""
    if "\x00" in path or "\\" in path:
        return None
    parts = path.split("/")
    if any(part == ".." for part in parts):
        return None
    trailing = "/" if path.endswith("/") and path.strip("/") else ""
    normal = posixpath.normpath("/" + path).lstrip("/")
    return normal + trailing if normal != "." else ""


def _content_type(outlet: Outlet, rel: str) -> str:
    if rel == outlet.feed_path:
        return outlet.feed_content_type
    suffix = Path(rel).suffix.lower()
    mime = _TYPES.get(suffix, "application/octet-stream")
    if suffix in (".txt", ".css", ".json"):
        return f"{mime}; charset=utf-8"
    if suffix in (".html", ".xml"):
        return f"{mime}; charset={outlet.encoding}"
    return mime
