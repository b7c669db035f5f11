"""Repair short strings that were UTF-8 but got decoded as cp1252/Latin-1 or cp1251.

Feed titles and meta tags often arrive double-encoded ("Ã©" for "é",
"РџСЂРёРІРµС‚" for "Привет"). Each run of non-ASCII characters is re-encoded
with the suspected wrong codec and decoded as UTF-8; a run is replaced only
when that round trip is valid UTF-8 and the result scores cleaner. Runs that
lost bytes on the way stay as they are: guessing would invent letters.
"""

from __future__ import annotations

import re

from crawler.extraction.encoding import garbage_score

_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]{2,}")
_WRONG_CODECS = ("cp1252", "cp1251")
# "Р"/"С" (lead bytes D0/D1 in cp1251) followed by what a UTF-8 continuation byte
# becomes in cp1251: rare letters, punctuation and symbols, almost never real Russian.
_CP1251_PAIR = re.compile("[РС][\u0400-\u040f\u0450-\u045f\u0490\u0491\u00a0-\u00bf\u2010-\u2122]")


def _run_score(run: str) -> float:
    return garbage_score(run) + 3.0 * len(_CP1251_PAIR.findall(run))


def _to_bytes(run: str, codec: str) -> bytes | None:
    """Re-encode with the codec that did the damage; C1 controls pass through as bytes,
    as Windows decoders pass the five bytes cp1252 leaves undefined."""
    out = bytearray()
    for char in run:
        try:
            out += char.encode(codec)
        except UnicodeEncodeError:
            if ord(char) > 0xFF:
                return None
            out.append(ord(char))
    return bytes(out)


def _repair_run(run: str) -> str:
    before = _run_score(run)
    for codec in _WRONG_CODECS:
        raw = _to_bytes(run, codec)
        if raw is None:
            continue
        try:
            fixed = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if _run_score(fixed) < before:
            return fixed
    return run


def fix_mojibake(text: str) -> str:
    """Undo up to two rounds of UTF-8-read-as-single-byte damage; clean text is unchanged."""
    for _ in range(2):
        if text.isascii():
            break
        fixed = _NON_ASCII_RUN.sub(lambda m: _repair_run(m.group(0)), text)
        if fixed == text:
            break
        text = fixed
    return text
