"""Article language as an ISO 639-1 code, from the text's script checked against declarations.

A script count is cheap and reliable for this beat: Cyrillic text with the
Tajik letters ҳ ҷ ӣ ӯ is Tajik, with ї є ґ Ukrainian, with ә ң ө ұ ү һ Kazakh,
with ў Belarusian, otherwise Russian (or the Cyrillic language the page
declares, e.g. Bulgarian or Serbian, which letters alone cannot tell apart).
Latin-script text keeps the declared language; undeclared Latin text is
called English only when common English function words make up a fair share
of it. Limits: undeclared French/German/etc. come back as None, Kyrgyz and
Kazakh share letters, and very short texts fall back to the declaration.
"""

from __future__ import annotations

import re

CYRILLIC_LANGUAGES = frozenset({"ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "tg", "mn", "uz"})
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_LATIN = re.compile("[A-Za-z\u00c0-\u024f]")
_MARKERS = {
    "tg": re.compile("[ҳҷӣӯҲҶӢӮ]"),
    "uk": re.compile("[їєґЇЄҐ]"),
    "kk": re.compile("[әңөұүһӘҢӨҰҮҺ]"),
    "be": re.compile("[ўЎ]"),
}
_OTHER_SCRIPTS = (
    ("ja", re.compile("[\u3040-\u30ff]")),
    ("ko", re.compile("[\uac00-\ud7af]")),
    ("zh", re.compile("[\u4e00-\u9fff]")),
    ("el", re.compile("[\u0370-\u03ff]")),
    ("he", re.compile("[\u0590-\u05ff]")),
    ("ar", re.compile("[\u0600-\u06ff]")),
)
_ENGLISH = re.compile(r"\b(?:the|and|of|to|in|is|that|for|with|was|on|are|by)\b", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_SAMPLE = 5000
_MIN_LETTERS = 40


def normalize_language(value: str | None) -> str | None:
    """'ru-RU', 'ru_RU', 'RU' -> 'ru'; anything that is not a two-letter code -> None."""
    if not value:
        return None
    code = re.split(r"[-_]", value.strip().lower(), maxsplit=1)[0]
    return code if re.fullmatch(r"[a-z]{2}", code) else None


def _cyrillic_language(sample: str, declared: str | None) -> str:
    counts = {lang: len(rx.findall(sample)) for lang, rx in _MARKERS.items()}
    lang, count = max(counts.items(), key=lambda item: item[1])
    if count >= 2:
        return lang
    if declared in CYRILLIC_LANGUAGES and declared not in _MARKERS:
        return declared
    return "ru"


def detect_language(text: str, declared: str | None = None) -> str | None:
    """Language of ``text``; ``declared`` (html lang, og:locale...) breaks ties."""
    declared = normalize_language(declared)
    sample = text[:_SAMPLE]
    cyrillic = len(_CYRILLIC.findall(sample))
    latin = len(_LATIN.findall(sample))
    if cyrillic + latin < _MIN_LETTERS:
        for lang, rx in _OTHER_SCRIPTS:
            if len(rx.findall(sample)) >= _MIN_LETTERS // 2:
                return declared if lang == "ar" else lang
        return declared
    if cyrillic > latin:
        return _cyrillic_language(sample, declared)
    if declared and declared not in CYRILLIC_LANGUAGES:
        return declared
    words = _WORD.findall(sample)
    if words and len(_ENGLISH.findall(sample)) / len(words) >= 0.08:
        return "en"
    return None
