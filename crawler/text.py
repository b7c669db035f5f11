"""Plain text from feed HTML."""

from __future__ import annotations

import html
import re

import nh3

_BLOCK_TAGS = re.compile(r"(?i)<\s*(/p|br\s*/?|/div|/li|/h[1-6]|/blockquote|/tr)\s*>")
_SPACES = re.compile(r"[ \t\u00a0\u200b]+")
_BLANKS = re.compile(r"\n\s*\n+")


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
