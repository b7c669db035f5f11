"""Character-level normalisation shared by queries and documents.

Both sides must fold text identically, otherwise a query could never match its
own wording. Folding is deliberately lossy: case, ё/е, Tajik-specific letters
(ҳ→х, ҷ→ч, ӣ→и, ӯ→у, қ→к, ғ→г), stress marks, soft hyphens and Latin
diacritics are all erased, because news sites and their readers type the same
word all of these ways.
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum
from functools import lru_cache

# A word: letters/digits, with stress marks, soft hyphens, zero-width joiners and
# apostrophes (between letters) inside it. Hyphens split words: "Россия-Таджикистан"
# is two words, so a query for either finds it.
WORD_RE = re.compile(r"[^\W_](?:[^\W_]|[\u0300-\u036f\u00ad\u200b-\u200d\u2060]|['’ʼ](?=[^\W_]))*")

_INVISIBLE_RE = re.compile(r"[\u0300-\u036f\u00ad\u200b-\u200d\u2060]")

_FOLD = str.maketrans(
    {
        "ё": "е",
        "ҳ": "х",
        "ҷ": "ч",
        "ӣ": "и",
        "ӯ": "у",
        "қ": "к",
        "ғ": "г",
        "’": "'",
        "ʼ": "'",
    }
)

# Latin letters that look like Cyrillic ones and the reverse, for words typed
# with a mixed keyboard layout ("MВД" with a Latin M).
_LAT_TO_CYR = str.maketrans("aceopxykmthb", "асеорхукмтнв")
_CYR_TO_LAT = str.maketrans("асеорхукмтнв", "aceopxykmthb")


class Script(Enum):
    CYRILLIC = "cyrillic"
    LATIN = "latin"
    OTHER = "other"


_CYRILLIC_RE = re.compile("[\u0400-\u052f]")
_LATIN_RE = re.compile("[A-Za-z\u00c0-\u024f]")


def script_of(form: str) -> Script:
    """The script of a folded word; digits and other alphabets are OTHER."""
    cyr = len(_CYRILLIC_RE.findall(form))
    lat = len(_LATIN_RE.findall(form))
    if cyr == 0 and lat == 0:
        return Script.OTHER
    return Script.CYRILLIC if cyr >= lat else Script.LATIN


def _strip_latin_diacritics(form: str) -> str:
    decomposed = unicodedata.normalize("NFKD", form)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=262_144)
def fold_word(word: str) -> str:
    """The comparison form of one word (as found by WORD_RE)."""
    form = _INVISIBLE_RE.sub("", unicodedata.normalize("NFC", word).casefold()).translate(_FOLD)
    has_cyr = _CYRILLIC_RE.search(form) is not None
    has_lat = _LATIN_RE.search(form) is not None
    if has_cyr and has_lat:
        form = (
            form.translate(_LAT_TO_CYR)
            if script_of(form) is Script.CYRILLIC
            else form.translate(_CYR_TO_LAT)
        )
    if not has_cyr and has_lat:
        form = _strip_latin_diacritics(form)
    return form


def fold_text(text: str) -> str:
    """Fold a whole string word by word, keeping single spaces between words."""
    return " ".join(fold_word(m.group()) for m in WORD_RE.finditer(normalize_text(text)))


def normalize_text(text: str) -> str:
    """NFC form of stored text, so character offsets of surfaces stay meaningful."""
    return unicodedata.normalize("NFC", text)
