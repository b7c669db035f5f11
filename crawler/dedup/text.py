"""Text normalisation shared by the exact fingerprint and the near-duplicate signature.

Outlets that reprint an agency story change typography, not words: «ёлочки»
vs "quotes", ё vs е, non-breaking spaces, stress marks, a Latin "C" typed into
a Cyrillic word. All of that must vanish before hashing, or a verbatim copy
looks like a different text. Words and numbers are kept as they are: a changed
figure ("11 deaths" → "12 deaths") is a different report.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Letters and digits; underscores, punctuation and spaces split words.
_WORD = re.compile(r"[^\W_]+")
_COMBINING = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)

# Latin letters that look like Cyrillic ones. Only applied inside words that
# already contain Cyrillic, so English text is never touched.
_LATIN_TO_CYRILLIC = str.maketrans("aceopxykmhtb", "асеорхукмнтв")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_ASCII_LETTER = re.compile(r"[a-z]")


def tokens(text: str) -> list[str]:
    """Words of ``text``, case-folded and stripped of typographic variation."""
    if not text:
        return []
    folded = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    # Stress marks and other stray combining marks (NFKC keeps й, ӣ, ӯ composed).
    folded = _COMBINING.sub("", folded)
    words = _WORD.findall(folded)
    if _ASCII_LETTER.search(folded) and _CYRILLIC.search(folded):
        words = [_unmix(word) for word in words]
    return words


def _unmix(word: str) -> str:
    if word.isascii() or not _ASCII_LETTER.search(word):
        return word
    return word.translate(_LATIN_TO_CYRILLIC) if _CYRILLIC.search(word) else word


def normalised_text(title: str, body: str) -> str:
    """Title and body as one canonical string: words separated by single spaces.

    The title and body are kept apart by a control character so that moving
    a sentence from the headline into the body changes the fingerprint.
    """
    return join_tokens(tokens(title), tokens(body))


def join_tokens(title_tokens: list[str], body_tokens: list[str]) -> str:
    return " ".join(title_tokens) + "\x1f" + " ".join(body_tokens)


def fingerprint_of(normalised: str) -> str:
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def content_fingerprint(title: str, body: str) -> str:
    """SHA-256 (hex) of the normalised title and body: equal for verbatim copies."""
    return fingerprint_of(normalised_text(title, body))
