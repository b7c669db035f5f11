"""Stemmers and the index keys a word is filed under.

Document language detection is unreliable for short news leads, and Tajik is
often typed with Russian letters, so keys depend on the *script* of each word,
not on the document's language:

* a Cyrillic word is filed under its Russian Snowball stem (``r:``) **and** its
  light Tajik stem (``t:``); a query word matches when either stem agrees;
* a Latin word is filed under its English Snowball stem (``e:``);
* every word also gets a transliteration skeleton key (``xc:`` for Cyrillic
  words, ``xl:`` for Latin ones) so a query name in one script finds the other
  (see :mod:`core.query.translit`);
* digits and other scripts are filed as they are (``n:``);
* ``p:`` + the first three letters lets the topic index find wildcard terms.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import snowballstemmer

from core.query.normalize import Script, script_of
from core.query.translit import cyrillic_skeleton, latin_skeleton, skeleton_stem

_local = threading.local()

# Tajik suffixes, longest first within each group. Stripping runs up to four
# rounds (муҳоҷир-он-ро, кор-ҳо-и, маҳкумшуда-гон-ро) and never leaves fewer than
# three letters. The object marker "-ро" is taken off before the plural, so
# "-онро" and "-он" leave the same stem. "-ад" is the verb's third person
# ("мефиристад", "мекушояд"); "-у", "-ю", "-ву" are the "and" Tajik joins to a word
# ("Тоҷикистону Русия", "имтиёзу масуният").
_TG_SUFFIXES: tuple[str, ...] = (
    "ямон", "ятон", "яшон", "амон", "атон", "ашон",
    "ро",
    "гон", "хо", "он", "ён",
    "ии", "ям", "ят", "яш", "ам", "аш",
    "ед", "ем", "янд", "анд", "аст", "яд", "ад",
    "ву", "и", "е", "ю", "у",
)  # fmt: skip
# Derivational "-ат"/"-ият" (муҳоҷир → муҳоҷират) needs a longer remainder,
# so short Russian words like "закат" are left alone.
_TG_DERIVATIONAL: tuple[str, ...] = ("ият", "ат")
_TG_ANY = _TG_DERIVATIONAL + _TG_SUFFIXES
_TG_MIN_STEM = 3
_TG_MIN_DERIVED = 5
_TG_ROUNDS = 4
# Verb forms built on the past stem (ending in -д or -т) come back to it: the
# participle "-а" (фиристода, супорида, баста), the infinitive "-ан"
# (фиристодан, супоридани) and the perfect "-а" + "аст"/"анд" (кушодааст).
# The present prefix "ме-"/"наме-" goes when a personal ending went
# (мефиристад, мефиристанд → фирист); words that merely start with "ме"
# (меҳнат, меҳмон) keep it.
_TG_VERB_STEM_MIN = 4
_TG_PERSONAL = frozenset({"ед", "ем", "янд", "анд", "яд", "ад", "ам"})
_TG_VERB_PREFIXES: tuple[str, ...] = ("наме", "ме")
# What a stem may have lost at the front: a caller that looks for words "starting
# with a stem" must also look behind these (db/search/analysis.py).
STRIPPED_FRONTS: tuple[str, ...] = _TG_VERB_PREFIXES

PREFIX_KEY_LEN = 3
MIN_TRANSLIT_LEN = 4
MIN_TRANSLIT_LEN_UPPER = 3


def _stemmer(language: str) -> snowballstemmer.Stemmer:
    # Snowball stemmer objects keep state while stemming: one per thread.
    stemmers: dict[str, snowballstemmer.Stemmer] | None = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = {}
        _local.stemmers = stemmers
    if language not in stemmers:
        stemmers[language] = snowballstemmer.stemmer(language)
    return stemmers[language]


@lru_cache(maxsize=262_144)
def russian_stem(form: str) -> str:
    stem = str(_stemmer("russian").stemWord(form))
    # Snowball leaves the surname suffix on oblique cases (Лаврова → лавров, but
    # Лавров → лавр); a second pass makes every case of "-ов/-ев" names agree.
    if stem != form and stem.endswith(("ов", "ев")):
        stem = str(_stemmer("russian").stemWord(stem))
    return stem


@lru_cache(maxsize=262_144)
def english_stem(form: str) -> str:
    return str(_stemmer("english").stemWord(form))


@lru_cache(maxsize=262_144)
def tajik_stem(form: str) -> str:
    """Strip Tajik plural, case, possessive, izafet and verb endings from a folded word."""
    stem = form
    personal = False
    for _ in range(_TG_ROUNDS):
        stripped, suffix = _strip_one(stem)
        if stripped == stem:
            break
        personal = personal or suffix in _TG_PERSONAL
        stem = stripped
    stem = _past_stem(stem)
    if personal:
        for prefix in _TG_VERB_PREFIXES:
            if stem.startswith(prefix) and len(stem) - len(prefix) >= _TG_MIN_STEM:
                return stem[len(prefix) :]
    return stem


def _strip_one(word: str) -> tuple[str, str]:
    if not word.endswith(_TG_ANY):  # one C-level test for the common no-suffix case
        return word, ""
    for suffix in _TG_DERIVATIONAL:
        if word.endswith(suffix) and len(word) - len(suffix) >= _TG_MIN_DERIVED:
            return word[: -len(suffix)], suffix
    for suffix in _TG_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _TG_MIN_STEM:
            return word[: -len(suffix)], suffix
    return word, ""


def _past_stem(stem: str) -> str:
    """The past stem under a participle "-да"/"-та" or an infinitive "-дан"/"-тан"."""
    for ending in ("а", "ан"):
        base = stem[: -len(ending)]
        if stem.endswith(ending) and base.endswith(("д", "т")) and len(base) >= _TG_VERB_STEM_MIN:
            return base
    return stem


@lru_cache(maxsize=262_144)
def translit_key_of_cyrillic(form: str) -> str:
    return skeleton_stem(cyrillic_skeleton(form))


@lru_cache(maxsize=262_144)
def translit_key_of_latin(form: str) -> str:
    return skeleton_stem(latin_skeleton(form))


@lru_cache(maxsize=262_144)
def document_keys(form: str) -> tuple[str, ...]:
    """Every key a document word is filed under (see the module docstring)."""
    script = script_of(form)
    keys: list[str]
    if script is Script.CYRILLIC:
        keys = [
            "r:" + russian_stem(form),
            "t:" + tajik_stem(form),
            "xc:" + translit_key_of_cyrillic(form),
        ]
    elif script is Script.LATIN:
        keys = ["e:" + english_stem(form), "xl:" + translit_key_of_latin(form)]
    else:
        keys = ["n:" + form]
    if len(form) >= PREFIX_KEY_LEN:
        keys.append(prefix_key(form))
    return tuple(dict.fromkeys(keys))


def prefix_key(form: str) -> str:
    return "p:" + form[:PREFIX_KEY_LEN]


def translit_eligible(form: str, original: str) -> bool:
    """Short words transliterate into unrelated words ("не"/"ne"): only names
    of four letters or more, or upper-case abbreviations like "МВД", qualify."""
    if len(form) >= MIN_TRANSLIT_LEN:
        return True
    return len(form) >= MIN_TRANSLIT_LEN_UPPER and original.isupper()


@lru_cache(maxsize=65_536)
def query_keys(form: str, translit: bool) -> frozenset[str]:
    """Keys a query word matches: any one of them present in a document suffices."""
    script = script_of(form)
    if script is Script.CYRILLIC:
        keys = {"r:" + russian_stem(form), "t:" + tajik_stem(form)}
        if translit:
            keys.add("xl:" + translit_key_of_cyrillic(form))
        return frozenset(keys)
    if script is Script.LATIN:
        keys = {"e:" + english_stem(form)}
        if translit:
            keys.add("xc:" + translit_key_of_latin(form))
        return frozenset(keys)
    return frozenset({"n:" + form})
