"""Bytes to text: the declared charset when it is believable, the best guess when not.

Order of evidence: a byte-order mark is decisive; then the HTTP ``charset``,
then ``<meta charset>`` / ``http-equiv`` / the XML declaration. Declarations are
often wrong on Russian and Central-Asian sites (windows-1251 or KOI8-R pages
served as UTF-8 or Latin-1), so every candidate decoding is scored for
garbage (replacement characters, C1 controls, UTF-8-read-as-Latin-1 pairs,
Cyrillic case patterns that real words do not have) and a declaration is
overruled only when another decoding is clearly cleaner.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

from charset_normalizer import from_bytes

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# WHATWG: these labels mean windows-1252 in a browser, so they do here too.
_LABEL_ALIASES = {"latin-1": "cp1252", "latin1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252"}
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE
)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_.:-]+)""")
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
_SNIFF_BYTES = 8192
# Guesses tried when the declared charset decodes badly; the beat's usual suspects.
_FALLBACKS = ("utf-8", "cp1251", "koi8-r", "cp1252")
_CP1252_SPECIALS = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
# A UTF-8 lead byte read as Latin-1/cp1252, followed by a continuation byte read the same way.
_UTF8_AS_LATIN = re.compile(f"[\u00c2-\u00f4][\u0080-\u00bf{_CP1252_SPECIALS}]")
_CYR_LOWER_UPPER = re.compile("[а-яё][А-ЯЁ]")
_CYRILLIC_LETTER = re.compile("[А-яЁё]")
_CYRILLIC_UPPER = re.compile("[А-ЯЁ]")
_C1_OR_REPLACEMENT = re.compile("[\u0080-\u009f\ufffd]")
# Whole words of accented Latin-1 letters: Cyrillic bytes read as Latin-1/cp1252.
_LATIN1_WORD = re.compile("[\u00c0-\u00ff]{3,}")


def normalize_charset(label: str | None) -> str | None:
    """Python's codec name for a charset label, or None when the label is unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    return _LABEL_ALIASES.get(name, name)


def charset_from_headers(headers: Mapping[str, str] | None) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == "content-type":
            match = _HEADER_CHARSET.search(value)
            return normalize_charset(match.group(1)) if match else None
    return None


def charset_from_markup(raw: bytes) -> str | None:
    head = raw[:_SNIFF_BYTES]
    match = _XML_DECL.search(head) or _META_CHARSET.search(head)
    return normalize_charset(match.group(1).decode("ascii")) if match else None


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def garbage_score(text: str) -> float:
    """How much of ``text`` looks like a wrong decoding (0 for clean text).

    Every signal lives inside runs of non-ASCII characters, so only those runs
    are scanned: a page is mostly ASCII markup.
    """
    if text.isascii():
        return 0.0
    text = " ".join(_NON_ASCII.findall(text))
    score = 20.0 * len(_C1_OR_REPLACEMENT.findall(text))
    score += 10.0 * len(_UTF8_AS_LATIN.findall(text))
    score += 5.0 * len(_CYR_LOWER_UPPER.findall(text))
    score += 5.0 * len(_LATIN1_WORD.findall(text))
    letters = len(_CYRILLIC_LETTER.findall(text))
    if letters >= 40:
        upper_share = len(_CYRILLIC_UPPER.findall(text)) / letters
        # Running text is mostly lower case; swapped KOI8-R/windows-1251 is mostly upper.
        score += max(0.0, upper_share - 0.35) * letters * 4
    return score


def _bom(raw: bytes) -> tuple[str, int] | None:
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return name, len(bom)
    return None


def _decode(raw: bytes, encoding: str) -> str:
    return raw.decode(encoding, errors="replace")


def _guess(raw: bytes) -> str | None:
    best = from_bytes(raw[:200_000]).best()
    return normalize_charset(best.encoding) if best is not None else None


def decode_html(raw: bytes, headers: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Decode a fetched page; returns the text and the codec name that was used."""
    bom = _bom(raw)
    if bom is not None:
        name, size = bom
        return _decode(raw[size:], name), name
    declared = [c for c in (charset_from_headers(headers), charset_from_markup(raw)) if c]
    if not declared:
        try:
            return raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    scored: dict[str, tuple[float, str]] = {}

    def score(encoding: str) -> float:
        if encoding not in scored:
            text = _decode(raw, encoding)
            scored[encoding] = (garbage_score(text), text)
        return scored[encoding][0]

    if declared and declared[0] == "utf-8":
        try:
            # Valid UTF-8 with non-ASCII bytes is almost never an accident.
            return raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    for encoding in declared:
        if score(encoding) == 0.0:
            return scored[encoding][1], encoding
    for encoding in _FALLBACKS:
        score(encoding)
    best = min(scored, key=lambda enc: scored[enc][0])
    if scored[best][0] > 0:
        guessed = _guess(raw)
        if guessed and score(guessed) < scored[best][0]:
            best = guessed
    # A declaration keeps its word unless the alternative is clearly cleaner.
    for encoding in declared:
        if scored[encoding][0] <= scored[best][0] + 2.0:
            return scored[encoding][1], encoding
    return scored[best][1], best
