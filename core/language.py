"""A text's language as an ISO 639-1 code: the one detector extraction, the pipeline and queries use.

The beat's languages are told apart by the letters only they write and by
their commonest words, which is cheap, needs no model and explains itself:

* Cyrillic: Russian, Tajik (ғ ӣ қ ӯ ҳ ҷ), Kazakh (ә ғ қ ң ө ұ ү һ і),
  Kyrgyz (ң ө ү, and long vowels such as уу, үү, оо), Uzbek (ў қ ғ ҳ),
  Belarusian (ў і, and no и), Ukrainian (ї є ґ і, and no ы э ъ ё).
  Russian is what Cyrillic text with none of these signs is. Tajik typed on
  a Russian keyboard (no special letters) is still Tajik by its words.
* Latin: English by its function words, Uzbek by oʻ / gʻ, q not followed
  by u, and its words.

The declared language (HTML ``lang``, a feed's ``<language>``, the source's
setting) is a hint. Short texts keep it. A strong text signal overrules it,
but only towards a language this module tells apart (``DETECTED``): a page
declared Bulgarian, Serbian or Mongolian keeps that declaration unless it
shows letters those alphabets do not have, and one declared French or German
becomes English only when distinctively English words make up a fair share
of it. Undeclared text that shows no known language comes back as None
(Latin script) or Russian (Cyrillic script).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import islice

# The languages this module can tell apart; the only ones it overrules a declaration with.
DETECTED = frozenset({"ru", "tg", "kk", "ky", "uz", "be", "uk", "en"})
# Written in Cyrillic (uz and sr in Latin too, so they are not here).
CYRILLIC_ONLY = frozenset({"ru", "uk", "be", "bg", "mk", "kk", "ky", "tg", "mn"})
CYRILLIC_LANGUAGES = CYRILLIC_ONLY | {"sr", "uz"}

# Letters each Cyrillic language writes beyond the Russian alphabet.
_EXTRA_LETTERS = {
    "ru": "",
    "tg": "ғӣқӯҳҷ",
    "kk": "әғқңөұүһі",
    "ky": "ңөү",
    "uz": "ўқғҳ",
    "be": "ўі",
    "uk": "їєґі",
}
# Russian letters the language does not write: never in Belarusian and Ukrainian,
# seldom in Tajik and Uzbek (Russian names and loanwords keep them).
_MISSING_LETTERS = {"tg": "цщы", "uz": "щы", "be": "ищъ", "uk": "ыэъё"}
_MISSING_WEIGHT = {"tg": 0.5, "uz": 0.5, "be": 1.0, "uk": 1.0}
# What a long word with no telling letter adds for Russian.
_PLAIN_WORD = 0.25
# Extra letters of Cyrillic alphabets this module does not detect: letters a page
# declared in one of them may show without being taken for another language.
_UNDETECTED_EXTRAS = {"mn": "өү", "sr": "ђјљњћџ", "mk": "ѓѕјљњќџ"}
_ALPHABETS = {lang: frozenset(extra) for lang, extra in _EXTRA_LETTERS.items()}
_SPECIAL = frozenset("".join(_EXTRA_LETTERS.values()))
# Kyrgyz writes long vowels double; Kazakh and Russian hardly ever do.
_KYRGYZ_LONG_VOWELS = re.compile("аа|оо|уу|үү|өө|ээ|ыы")

# Common words, lower case. A word two languages share counts for both.
_WORDS = {
    "ru": """и в во что с со по для из от о об к это как также года году был была были было
        который которая которые которых его её ее он она они при после но или же уже только
        более чем этом этого так между сообщил сообщила сообщили заявил будет может""",
    "tg": """ва дар бо аз ки барои ин шуд шуда мебошад намуд кард карда гуфт вазорати ҷумҳурии
        чумхурии тоҷикистон точикистон ба мешавад буд шудааст баъд вай онҳо онхо низ ҳамчунин
        хамчунин бояд гардид соли мекунад дорад ё байни оид тибқи тибки бештар""",
    "kk": """және мен бен пен бұл үшін деп болып туралы жылы осы ол қазақстан қазақстанның
        республикасы республикасының сондай-ақ арқылы бойынша тиіс еді емес жөнінде кезінде
        керек біз олар дейін кейін оның бір ретінде қатысты болды берді алды келді жаңа
        қызметі министрлігі мемлекет арасында сәйкес ғана тағы""",
    "ky": """жана менен үчүн деп бул бир болуп боюнча жылы кыргызстан кыргызстандын
        республикасынын дагы анын тууралуу жок экен эмес керек жөнүндө учурда биз алар өкмөтү
        болгон болот мындан кийин кийинки чейин ошондой тарабынан байланыштуу билдирди болду
        берди алды келди жаңы кызматы министрлиги министрлик мамлекет ичинде жылдын""",
    "uz": """ва билан учун бу ҳам хам бўйича буйича йил йилда эса деб бир ўз ушбу ҳамда хамда
        мумкин керак бўлган булган бўлиб булиб тўғрисида ўзбекистон узбекистон республикаси
        вазирлиги ҳақида хакида ҳақда хакда қилди этди бўлди кўра ўртасида маълум қилинди""",
    "be": """і ў з што гэта як ад яго яе ён яна яны таксама быў была былі было які якая якія
        пры пасля але ці ужо толькі паміж беларусі беларусь рэспублікі праз паводле паведаміў
        паведаміла будзе можа гэтага каля пра таму""",
    "uk": """і й та що це як від його її він вона вони також року було була був були який
        яка які після але чи вже лише між щодо україни україна під через повідомив
        повідомили заявив буде може цього цей ці з зі із тому коли""",
    "uz-latn": """va bilan uchun bu ham boʻyicha yil yilda esa deb bir oʻz ushbu hamda mumkin
        kerak boʻlgan boʻlib toʻgʻrisida oʻzbekiston respublikasi vazirligi haqida haqda qildi etdi
        boʻldi koʻra oʻrtasida maʻlum qilindi bildirdi""",
}
_VOCABULARY = {lang: frozenset(words.split()) for lang, words in _WORDS.items()}
# Undeclared Latin text is English when these make up this share of its words
# (the list a German or Dutch page shares least with English is used to overrule one).
_ENGLISH_COMMON = frozenset(
    ["the", "and", "of", "to", "in", "is", "that", "for", "with", "was", "on", "are", "by"]
)
_ENGLISH_DISTINCT = frozenset(
    [
        "the",
        "and",
        "that",
        "with",
        "for",
        "are",
        "from",
        "this",
        "have",
        "has",
        "said",
        "which",
        "were",
    ]
)
_ENGLISH_SHARE = 0.08
_ENGLISH_OVERRULE_SHARE = 0.15
_UZBEK_SHARE = 0.05
_UZBEK_SIGNS = 2
_UZBEK_OVERRULE_SHARE = 0.1

_CYRILLIC = re.compile("[\u0400-\u04ff]")
_LATIN = re.compile("[A-Za-z\u00c0-\u024f]")
_APOSTROPHES = re.compile("[ʻ‘'’ʼ`]")
_WORD = re.compile(r"[^\W\d_]+(?:[-ʻ][^\W\d_]+)*")
# Uzbek Latin: oʻ and gʻ (any apostrophe), and q not followed by u.
_UZBEK_LATIN_SIGNS = re.compile(r"[og]ʻ(?![st]\b)|q(?!u)")
_OTHER_SCRIPTS = (
    ("ja", re.compile("[\u3040-\u30ff]")),
    ("ko", re.compile("[\uac00-\ud7af]")),
    ("zh", re.compile("[\u4e00-\u9fff]")),
    ("el", re.compile("[\u0370-\u03ff]")),
    ("he", re.compile("[\u0590-\u05ff]")),
    ("ar", re.compile("[\u0600-\u06ff]")),
)

_SAMPLE = 5000
# Fewer letters than this and the declared language is kept.
_MIN_LETTERS = 40
# How far a language must lead the declared one to overrule it: points, and per word.
_MARGIN = 4.0
_MARGIN_PER_WORD = 0.1
# Letters of a language the declared alphabet lacks before they overrule it.
_MIN_FOREIGN_LETTERS = 2


def normalize_language(value: str | None) -> str | None:
    """'ru-RU', 'ru_RU', 'RU' -> 'ru'; 'tj' (a common slip) -> 'tg'; not a two-letter code -> None."""
    if not value:
        return None
    code = re.split(r"[-_]", value.strip().lower(), maxsplit=1)[0]
    if code == "tj":
        return "tg"
    return code if re.fullmatch(r"[a-z]{2}", code) else None


@dataclass(frozen=True)
class _Evidence:
    """What the text shows: a score per detected language and the letters behind it."""

    script: str  # "cyrillic" | "latin"
    scores: dict[str, float]
    letters: Counter[str]
    words: int
    best: str | None
    english_words: int = 0  # distinctly English words (Latin script only)


def detect_language(text: str, declared: str | None = None) -> str | None:
    """Language of ``text``; ``declared`` is a hint the text may overrule (see the module doc)."""
    declared = normalize_language(declared)
    sample = text[:_SAMPLE]
    cyrillic = len(_CYRILLIC.findall(sample))
    latin = len(_LATIN.findall(sample))
    if cyrillic + latin < _MIN_LETTERS:
        for lang, rx in _OTHER_SCRIPTS:
            if len(rx.findall(sample)) >= _MIN_LETTERS // 2:
                return declared if lang == "ar" else lang
        if declared or cyrillic + latin == 0:
            return declared
    evidence = _cyrillic(sample) if cyrillic > latin else _latin(sample)
    guess = evidence.best
    if declared is None or guess is None or guess == declared:
        return guess or declared
    return guess if _overrules(guess, declared, evidence) else declared


def _overrules(guess: str, declared: str, evidence: _Evidence) -> bool:
    """Whether the text's language ``guess`` is clear enough to replace ``declared``."""
    if evidence.script == "cyrillic" and declared not in CYRILLIC_LANGUAGES:
        return True  # a Latin-script declaration on Cyrillic text
    if evidence.script == "latin" and declared in CYRILLIC_ONLY:
        return True
    if declared in evidence.scores:
        lead = evidence.scores[guess] - evidence.scores[declared]
        return lead >= max(_MARGIN, _MARGIN_PER_WORD * evidence.words)
    if evidence.script == "cyrillic":
        # Only letters the declared alphabet lacks tell; Russian shows none.
        allowed = set(_UNDETECTED_EXTRAS.get(declared, ""))
        foreign = sum(n for ch, n in evidence.letters.items() if ch not in allowed)
        shown = sum(
            evidence.letters[ch] for ch in _EXTRA_LETTERS.get(guess, "") if ch not in allowed
        )
        return foreign >= _MIN_FOREIGN_LETTERS and shown >= _MIN_FOREIGN_LETTERS
    # Latin: a French or German page is English only on distinctly English words,
    # Uzbek only on its own words and letters.
    if guess == "en":
        return evidence.english_words >= _ENGLISH_OVERRULE_SHARE * evidence.words
    return evidence.scores["uz"] >= _UZBEK_OVERRULE_SHARE * 2.0 * evidence.words


def _words(sample: str) -> list[str]:
    return _WORD.findall(_APOSTROPHES.sub("ʻ", sample.lower()))


def _cyrillic(sample: str) -> _Evidence:
    """Scores from words: common words of a language, and words written with its letters.

    A word counts once however many telling letters it has, and a capitalised
    word (mostly a name, and names travel between languages) half.
    """
    scores = dict.fromkeys(_EXTRA_LETTERS, 0.0)
    letters: Counter[str] = Counter()
    words = _WORD.findall(_APOSTROPHES.sub("ʻ", sample))
    for word in words:
        lower = word.lower()
        weight = 0.5 if word[0].isupper() else 1.0
        special = {ch for ch in lower if ch in _SPECIAL}
        letters.update(ch for ch in lower if ch in _SPECIAL)
        writers = [lang for lang, extra in _ALPHABETS.items() if special <= extra]
        for lang in _EXTRA_LETTERS:
            if lower in _VOCABULARY[lang]:
                scores[lang] += 2.0
            if special:
                # Shared letters (і: kk, be, uk) say less than a language's own (ї: uk).
                scores[lang] += weight / len(writers) if lang in writers else -2.0 * weight
            elif lang in _MISSING_LETTERS and any(ch in lower for ch in _MISSING_LETTERS[lang]):
                scores[lang] -= _MISSING_WEIGHT[lang] * weight
        if not special and len(lower) >= 4:
            # Long words with none of the letters above: what Russian looks like.
            scores["ru"] += _PLAIN_WORD * weight
        if _KYRGYZ_LONG_VOWELS.search(lower):
            scores["ky"] += weight
    # Ties go to the first: Russian, then the languages with letters of their own.
    order = ("ru", "uk", "be", "kk", "tg", "uz", "ky")
    best = max(order, key=lambda lang: scores[lang])
    return _Evidence("cyrillic", scores, letters, len(words), best)


def _latin(sample: str) -> _Evidence:
    words = _words(sample)
    english = sum(1 for word in words if word in _ENGLISH_COMMON)
    uzbek = sum(1 for word in words if word in _VOCABULARY["uz-latn"])
    signs = len(_UZBEK_LATIN_SIGNS.findall(_APOSTROPHES.sub("ʻ", sample.lower())))
    scores = {"en": 2.0 * english, "uz": 2.0 * uzbek + signs}
    best: str | None = None
    uzbek_share = uzbek / len(words) if words else 0.0
    # Turkish shares words such as bu and bir; it writes neither q nor oʻ.
    if scores["uz"] > scores["en"] and uzbek_share >= _UZBEK_SHARE and signs >= _UZBEK_SIGNS:
        best = "uz"
    elif words and english / len(words) >= _ENGLISH_SHARE:
        best = "en"
    distinct = sum(1 for word in words if word in _ENGLISH_DISTINCT)
    return _Evidence("latin", scores, Counter(), len(words), best, distinct)


# Readability: how many of a text's Cyrillic words are common words of a language here.
_CYRILLIC_WORD = re.compile("[\u0400-\u04ff]+")
_COMMON_CYRILLIC = frozenset().union(
    *(words for lang, words in _VOCABULARY.items() if lang in CYRILLIC_ONLY | {"uz"})
)
_READ_WORDS = 3000


@dataclass(frozen=True)
class Readability:
    """Cyrillic words of a text, and how many are common words of a language this module knows.

    Running Russian or Tajik text has many (и, в, на, ва, дар ...): about a
    fifth to a third of its words. The same bytes decoded with the wrong
    Cyrillic code page (windows-1251 read as KOI8-R, or the reverse) have
    almost none, so this tells a right decoding from a wrong one.
    """

    words: int
    known: int

    @property
    def share(self) -> float:
        return self.known / self.words if self.words else 0.0


def cyrillic_readability(text: str) -> Readability:
    """Count the first few thousand Cyrillic words of ``text`` (markup may surround them)."""
    words = [m.group(0) for m in islice(_CYRILLIC_WORD.finditer(text), _READ_WORDS)]
    known = sum(1 for word in words if word.lower() in _COMMON_CYRILLIC)
    return Readability(len(words), known)
