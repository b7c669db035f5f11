"""Plain text from feed HTML, and a cheap language guess by script."""

from __future__ import annotations

import html
import re

import nh3

_BLOCK_TAGS = re.compile(r"(?i)<\s*(/p|br\s*/?|/div|/li|/h[1-6]|/blockquote|/tr)\s*>")
_SPACES = re.compile(r"[ \t\u00a0\u200b]+")
_BLANKS = re.compile(r"\n\s*\n+")
TAJIK_LETTERS = set("ҳҷӣӯқғҲҶӢӮҚҒ")
UKRAINIAN_LETTERS = set("іїєґІЇЄҐ")


def html_to_text(fragment: str) -> str:
    """Text of an HTML fragment with paragraphs kept; scripts and styles dropped whole."""
    if not fragment:
        return ""
    marked = _BLOCK_TAGS.sub("\n\n", fragment)
    stripped = nh3.clean(marked, tags=set(), clean_content_tags={"script", "style"})
    return normalise_whitespace(html.unescape(stripped))


def normalise_whitespace(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r", "").split("\n")]
    joined = "\n".join(lines)
    return _BLANKS.sub("\n\n", joined).strip()


def guess_language(text: str, hint: str | None = None) -> str | None:
    """ru / tg / uk / en from the letters used; the feed's declared language breaks ties."""
    sample = text[:4000]
    letters = [ch for ch in sample if ch.isalpha()]
    if not letters:
        return _short(hint)
    cyrillic = sum(1 for ch in letters if "\u0400" <= ch <= "\u04ff")
    if cyrillic / len(letters) > 0.3:
        if any(ch in TAJIK_LETTERS for ch in sample):
            return "tg"
        if any(ch in UKRAINIAN_LETTERS for ch in sample):
            return "uk"
        return "ru"
    short = _short(hint)
    if short and short not in ("ru", "tg", "uk"):
        return short
    latin = sum(1 for ch in letters if ch.isascii())
    return "en" if latin / len(letters) > 0.6 else short


def _short(hint: str | None) -> str | None:
    if not hint:
        return None
    return hint.strip().lower().replace("_", "-").split("-")[0][:8] or None
