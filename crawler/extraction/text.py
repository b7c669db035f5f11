"""Word-level helpers shared by the combination rules."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def normalized(text: str) -> str:
    """Words only, lower case, single spaces: compares text regardless of markup and punctuation."""
    return " ".join(_WORD.findall(text)).lower()


def split_paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.splitlines() if p.strip()]
