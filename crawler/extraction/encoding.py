"""Bytes to text: the declared charset when it is believable, the best guess when not.

Order of evidence: a byte-order mark is decisive; then the HTTP ``charset``,
then ``<meta charset>`` / ``http-equiv`` / the XML declaration. Declarations are
often wrong on Russian and Central-Asian sites (windows-1251 or KOI8-R pages
served as UTF-8 or Latin-1), so every candidate decoding is scored for
garbage (replacement characters, C1 controls, UTF-8-read-as-Latin-1 pairs,
Cyrillic case patterns that real words do not have) and a declaration is
overruled only when another decoding is clearly cleaner.

The garbage score cannot see one Cyrillic code page read as another
(windows-1251 served as KOI8-R, or the reverse) when the text is short or
mostly capitals: both decodings are letters. So the result is checked against
the language of the text (``core.language.cyrillic_readability``): when another
Cyrillic decoding reads as words of a language and the chosen one does not,
the readable one wins, whatever was declared.

Feeds are parsed by feedparser, which believes the declaration; ``transcode_feed``
hands it the feed re-encoded as UTF-8 when the bytes are not what was declared.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

from charset_normalizer import from_bytes
from core.language import Readability, cyrillic_readability

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
    text, encoding = _decode_by_evidence(raw, headers)
    if _bom(raw) is None:
        return _readable(raw, text, encoding)
    return text, encoding


def _decode_by_evidence(raw: bytes, headers: Mapping[str, str] | None) -> tuple[str, str]:
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


# A decoding is overruled by one whose Cyrillic words are this much more often common
# words (share points), given at least this many of them.
_READABLE_LEAD = 0.1
_READABLE_MIN_KNOWN = 3
_CYRILLIC_CODECS = ("utf-8", "cp1251", "koi8-r")
_READ_BYTES = 256 * 1024


def _readable(raw: bytes, text: str, encoding: str) -> tuple[str, str]:
    """The decoding whose Cyrillic reads as a language: ``text`` unless another is clearly so."""
    chosen = cyrillic_readability(text)
    if chosen.words < _READABLE_MIN_KNOWN or encoding not in (*_CYRILLIC_CODECS, "cp1252"):
        return text, encoding
    best: tuple[Readability, str] | None = None
    for codec in _CYRILLIC_CODECS:
        if codec == encoding:
            continue
        try:
            # Strict: a wrong guess that needs repairs is no better. A prefix is judged
            # (incrementally, so a character cut at its end is no error).
            sample = codecs.getincrementaldecoder(codec)().decode(raw[:_READ_BYTES])
            found = cyrillic_readability(sample)
            if best is None or found.share > best[0].share:
                best = (found, codec)
        except UnicodeDecodeError:
            continue
    if best is None:
        return text, encoding
    found, codec = best
    if found.known >= _READABLE_MIN_KNOWN and found.share >= chosen.share + _READABLE_LEAD:
        try:
            return raw.decode(codec), codec
        except UnicodeDecodeError:
            pass  # beyond the prefix the bytes are not in that codec: keep the first choice
    return text, encoding


_XML_DECL_ENCODING = re.compile(
    r"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([a-zA-Z0-9_.:-]+)(["'])"""
)


def transcode_feed(raw: bytes, content_type: str | None) -> tuple[bytes, str | None]:
    """The feed and its content type as feedparser should read them.

    Unchanged when the bytes are in the charset they declare (or declare
    none, or start with a byte-order mark); otherwise the text decoded as
    ``decode_html`` decides, re-encoded as UTF-8, its XML declaration and
    content type saying so.
    """
    headers = {"content-type": content_type} if content_type else {}
    declared = {c for c in (charset_from_headers(headers), charset_from_markup(raw)) if c}
    if not declared or _bom(raw) is not None:
        return raw, content_type
    text, encoding = decode_html(raw, headers)
    if declared == {encoding}:
        return raw, content_type
    text = _XML_DECL_ENCODING.sub(lambda m: f"{m.group(1)}utf-8{m.group(3)}", text, count=1)
    if content_type and _HEADER_CHARSET.search(content_type):
        content_type = _HEADER_CHARSET.sub("charset=utf-8", content_type, count=1)
    return text.encode("utf-8"), content_type
