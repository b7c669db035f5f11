"""Russian/Tajik Cyrillic ↔ Latin transliteration for names.

Names reach the news in several romanisations (Рахмон: Rahmon, Rakhmon;
Душанбе: Dushanbe; Джураев: Dzhuraev, Juraev). Rather than listing names, both
scripts are reduced to one lossy Latin *skeleton* in which the usual
alternatives coincide: kh/h → h, zh/j/dzh/dj → j, ya/ia → ia, yu/iu → iu,
ts → c, y/i → i, ye → e, doubled letters collapse. Matching compares
skeletons; :func:`variants` spells out common concrete forms for display and
for search back-ends that need literal words.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

from core.query.normalize import Script, fold_word, script_of

_ROMAN: dict[str, str] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
    "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch",
    "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip

# Romanisation alternatives that collapse to one skeleton letter; matched
# longest first in a single pass. Upper-case letters are placeholders for
# digraph sounds until the end (S=sh, J=j, H=h, C=ch, U=iu, A=ia, O=io).
_SKELETON_DIGRAPHS: dict[str, str] = {
    "shch": "S", "sch": "S", "dzh": "J", "dj": "J", "zh": "J", "j": "J", "kh": "H",
    "gh": "g", "ch": "C", "sh": "S", "ts": "c", "tz": "c", "ph": "f", "ck": "k", "q": "k",
    "x": "ks", "w": "v", "yu": "U", "iu": "U", "ya": "A", "ia": "A", "yo": "O", "io": "O",
    "ye": "e", "'": "", "’": "",
}  # fmt: skip
_SKELETON_DIGRAPH_RE = re.compile(
    "|".join(re.escape(k) for k in sorted(_SKELETON_DIGRAPHS, key=len, reverse=True))
)
_Y_BETWEEN_VOWELS_RE = re.compile(r"(?<=[aeiou])y(?=[aeiou])")
_DOUBLED_RE = re.compile(r"(.)\1+")

_SKELETON_OUT = str.maketrans(
    {"S": "sh", "J": "j", "H": "h", "C": "ch", "U": "iu", "A": "ia", "O": "io"}
)

# Case and number endings of Russian (romanised) and English, grouped by
# length and tried longest first. Stripped from skeletons on both sides, so
# "Лаврова", "Лавров" and "Lavrov" meet without a stemmer for the other script.
_ENDINGS = frozenset(
    {"iami", "iah", "iam", "ami", "ah", "am", "ogo", "ego", "omu", "emu", "imi",
     "aia", "oe", "ie", "ih", "im", "oi", "ei", "om", "em", "ov", "ev", "ia", "iu",
     "a", "e", "i", "o", "u", "s"}
)  # fmt: skip
_SKELETON_ENDINGS: tuple[tuple[int, frozenset[str]], ...] = tuple(
    (length, frozenset(e for e in _ENDINGS if len(e) == length)) for length in (4, 3, 2, 1)
)
_SKELETON_MIN_STEM = 3

# Alternatives for the letters that are romanised in more than one common way.
_CYR_ALTERNATIVES: dict[str, tuple[str, ...]] = {
    "х": ("kh", "h"), "ж": ("zh", "j"), "я": ("ya", "ia"), "ю": ("yu", "iu"),
    "й": ("y", "i"), "ы": ("y", "i"), "ц": ("ts", "c"), "щ": ("shch", "sch"),
}  # fmt: skip
_LAT_ALTERNATIVES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("shch", ("щ",)), ("dzh", ("дж",)), ("kh", ("х",)), ("zh", ("ж",)), ("ch", ("ч",)),
    ("sh", ("ш",)), ("ts", ("ц",)), ("ya", ("я",)), ("ia", ("ия", "я")), ("yu", ("ю",)),
    ("iu", ("ю",)), ("ye", ("е",)), ("yo", ("ё",)), ("j", ("дж", "ж")), ("h", ("х", "г")),
    ("y", ("й", "ы", "и")), ("e", ("е", "э")), ("c", ("ц", "к")), ("x", ("кс",)),
    ("w", ("в",)), ("q", ("к",)),
    ("a", ("а",)), ("b", ("б",)), ("d", ("д",)), ("f", ("ф",)), ("g", ("г",)),
    ("i", ("и",)), ("k", ("к",)), ("l", ("л",)), ("m", ("м",)), ("n", ("н",)),
    ("o", ("о",)), ("p", ("п",)), ("r", ("р",)), ("s", ("с",)), ("t", ("т",)),
    ("u", ("у",)), ("v", ("в",)), ("z", ("з",)),
)  # fmt: skip
_LAT_RE = re.compile("|".join(re.escape(src) for src, _ in _LAT_ALTERNATIVES))
_LAT_MAP = dict(_LAT_ALTERNATIVES)
MAX_VARIANTS = 8


@lru_cache(maxsize=262_144)
def latin_skeleton(word: str) -> str:
    """The skeleton of a folded Latin word."""
    out = _SKELETON_DIGRAPH_RE.sub(lambda m: _SKELETON_DIGRAPHS[m.group()], word)
    out = _Y_BETWEEN_VOWELS_RE.sub("", out).replace("y", "i")
    return _DOUBLED_RE.sub(r"\1", out).translate(_SKELETON_OUT)


def romanize(word: str) -> str:
    """One conventional romanisation of a folded Cyrillic word."""
    return "".join(_ROMAN.get(ch, ch) for ch in word)


@lru_cache(maxsize=262_144)
def cyrillic_skeleton(word: str) -> str:
    """The skeleton of a folded Cyrillic word."""
    return latin_skeleton(romanize(word))


def skeleton_stem(skeleton: str) -> str:
    """Strip inflection endings from a skeleton until none is left (see _SKELETON_ENDINGS).

    Repeating until stable makes every case form reach the same stem, whatever
    number of endings it stacked ("juraeva" → "juraev" → "jura" → "jur").
    """
    while True:
        for length, endings in _SKELETON_ENDINGS:
            if len(skeleton) - length >= _SKELETON_MIN_STEM and skeleton[-length:] in endings:
                skeleton = skeleton[:-length]
                break
        else:
            return skeleton


def variants(word: str) -> list[str]:
    """Common spellings of ``word`` in the other script, most conventional first.

    >>> variants("Рахмон")
    ['rakhmon', 'rahmon']
    """
    form = fold_word(word)
    script = script_of(form)
    if script is Script.CYRILLIC:
        choices = [_CYR_ALTERNATIVES.get(ch, (_ROMAN.get(ch, ch),)) for ch in form]
    elif script is Script.LATIN:
        choices = [_LAT_MAP[m.group()] for m in _LAT_RE.finditer(form)]
    else:
        return []
    product = itertools.islice(itertools.product(*choices), MAX_VARIANTS)
    return list(dict.fromkeys("".join(parts) for parts in product))
