"""What a report says about its event, reduced to what can be compared across languages.

Copies share their words; independent reports of one event share much less:
the same actors and places (named differently in each script), the same kind
of act (an office opened, an agreement signed), the same figures, and a time.
A signature keeps exactly those:

* ``concepts``: the beat's concepts and entities (core.lexicon), the same
  names whatever the language; ``title_concepts`` those of the headline alone,
  which says what happened more plainly than the body's background paragraphs;
* ``words``: content-word stems with their counts (title words count twice),
  for reports in one language;
* ``names``: transliteration skeletons of capitalised words, so "Душанбе",
  "Dushanbe" and "Душанбе" meet, as do people's surnames;
* ``numbers``: figures of two digits or more;
* ``dates``: the days of the year the text names ("27 мая", "May 27", "27 майи",
  and, counted back from its publication, "в среду", "on Wednesday", "вчера"):
  reports of one happening that name its day name the same one;
* ``published``, ``url`` and ``links``: when, and what a Telegram post points to.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from core.lexicon import Lexicon, default_lexicon
from core.query import Document, analyze_document
from core.query.normalize import Script, fold_word, script_of
from core.query.stemming import english_stem, russian_stem, tajik_stem
from core.query.translit import cyrillic_skeleton, latin_skeleton, skeleton_stem

_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*", re.UNICODE)
_NUMBER = re.compile(r"\d[\d\s.,]*\d|\d")
_SENTENCE_END_CHARS = frozenset('.!?…:;»"')
MIN_WORD = 3
# The most frequent content words kept: enough to compare reports, small to store.
MAX_WORDS = 60
MIN_NAME = 3
TITLE_WEIGHT = 2

# Words too common in news to say anything about which event a report is on.
_STOP = frozenset(
    fold_word(w)
    for w in [
        "the",
        "and",
        "for",
        "that",
        "with",
        "from",
        "this",
        "have",
        "has",
        "had",
        "was",
        "were",
        "are",
        "been",
        "will",
        "would",
        "said",
        "says",
        "also",
        "after",
        "about",
        "into",
        "over",
        "than",
        "then",
        "they",
        "their",
        "there",
        "which",
        "while",
        "more",
        "most",
        "other",
        "its",
        "his",
        "her",
        "who",
        "what",
        "when",
        "where",
        "year",
        "years",
        "new",
        "news",
        "today",
        "said",
        "according",
        "reported",
        "это",
        "как",
        "что",
        "для",
        "его",
        "она",
        "они",
        "было",
        "были",
        "будет",
        "может",
        "также",
        "после",
        "года",
        "году",
        "более",
        "который",
        "которые",
        "которая",
        "этом",
        "этого",
        "при",
        "про",
        "или",
        "уже",
        "еще",
        "так",
        "все",
        "всех",
        "когда",
        "чтобы",
        "сообщает",
        "сообщил",
        "сообщила",
        "заявил",
        "заявила",
        "отметил",
        "отметила",
        "рассказал",
        "говорится",
        "глава",
        "министр",
        "министра",
        "министерство",
        "республики",
        "страны",
        "сторон",
        "сторона",
        "время",
        "ин",
        "ки",
        "барои",
        "бо",
        "дар",
        "аз",
        "ва",
        "он",
        "буд",
        "шуд",
        "мебошад",
        "мешавад",
        "намуд",
        "карда",
        "кард",
        "гуфт",
        "гуфта",
        "иброз",
        "изҳор",
        "хабар",
        "дод",
        "дода",
        "шуда",
        "шудааст",
        "аст",
        "будааст",
        "низ",
        "чунин",
    ]
)


@dataclass(frozen=True)
class EventSignature:
    concepts: frozenset[str]
    words: dict[str, int]
    names: frozenset[str]
    numbers: frozenset[str]
    dates: frozenset[str] = frozenset()
    title_words: frozenset[str] = frozenset()
    title_concepts: frozenset[str] = frozenset()
    title_repeat: bool = False
    lang: str | None = None
    published: datetime | None = None
    url: str | None = None
    links: frozenset[str] = field(default_factory=frozenset)
    source: str | None = None


def signature_of(
    *,
    title: str,
    text: str,
    lang: str | None = None,
    published: datetime | None = None,
    url: str | None = None,
    links: frozenset[str] | set[str] | list[str] = frozenset(),
    source: str | None = None,
    lexicon: Lexicon | None = None,
    publication_known: bool = True,
) -> EventSignature:
    """The signature of one report (its title and text as stored).

    ``publication_known=False`` when ``published`` stands in for a publication time
    the source did not give (the fetch time): the weekdays and "yesterday" a report
    names are then not counted from it, since a story fetched days late would name
    the wrong days.
    """
    if is_post_url(url) and opens_text(title, text):
        # A channel post has no headline of its own: the crawler cuts one from its first
        # sentence (``crawler.telegram.post_title``), which the text holds anyway. Read
        # as a headline, it named acts and places its article's headline words apart,
        # and posts were kept from their articles (development part, post–article
        # recall 0.846 with it, 0.944 without). A headline a post was given stays.
        title = ""
    analysed = analyze_document(Document(title=title, text=text, lang=lang, url=url))
    lexicon = lexicon or default_lexicon()
    words: Counter[str] = Counter()
    title_words: set[str] = set()
    names: set[str] = set()
    _read_words(title, analysed.lang, TITLE_WEIGHT, words, names, title_words)
    _read_words(text, analysed.lang, 1, words, names, None)
    return EventSignature(
        concepts=lexicon.concepts_of(analysed),
        title_concepts=lexicon.concepts_of(
            analyze_document(Document(title=title, text="", lang=analysed.lang or lang))
        )
        if title
        else frozenset(),
        words=dict(words.most_common(MAX_WORDS)),
        names=frozenset(names),
        title_words=frozenset(title_words),
        title_repeat=repeats(title),
        numbers=frozenset(_numbers(f"{title}\n{text}")),
        dates=named_days(title, text, published if publication_known else None),
        lang=analysed.lang or None,
        published=published,
        url=url,
        links=frozenset(links),
        source=source,
    )


TELEGRAM_HOSTS = frozenset({"t.me", "telegram.me"})


def is_post_url(url: str | None) -> bool:
    """A Telegram channel post's address (on t.me)."""
    return bool(url) and urlsplit(url).hostname in TELEGRAM_HOSTS  # type: ignore[arg-type]


def opens_text(title: str, text: str) -> bool:
    """Whether the headline is the text's own opening words, cut from it."""
    head = _opening(title).rstrip("….")
    return bool(head) and _opening(text).startswith(head)


def _opening(text: str) -> str:
    """The text from its first letter or digit, its spaces collapsed (a leading emoji
    or bullet is no part of a cut headline)."""
    words = " ".join(text[:1000].split())
    start = next((i for i, ch in enumerate(words) if ch.isalnum()), len(words))
    return words[start:]


# Headline words that say the happening is not the first of its kind: a second
# flight, talks resumed. Folded prefixes, Russian, Tajik and English.
_REPEAT_PREFIXES = (
    "втор",
    "трет",
    "очередн",
    "снова",
    "вновь",
    "возобнов",
    "повторн",
    "дуввум",
    "сеюм",
    "навбати",
    "такрор",
    "second",
    "third",
    "another",
    "again",
    "resum",
    "renew",
)


# Ordinals among the prefixes: "the third day" of one happening is no repeat of it.
_ORDINAL_PREFIXES = ("втор", "трет", "дуввум", "сеюм", "second", "third")
# Short spans of time an ordinal counts within one happening (Tajik puts the unit
# first: "рӯзи сеюм"), folded prefixes.
_DURATION_PREFIXES = (
    "сут",
    "ден",
    "дня",
    "дне",
    "недел",
    "час",
    "руз",
    "хафт",
    "day",
    "week",
    "hour",
)
# Words the prefixes begin that are no ordinal at all: Tuesday, a third (a fraction).
_NOT_REPEATS = frozenset({"вторник", "вторника", "вторнику", "треть", "трети", "третью"})


# "Еще"/"боз" (more, again) opening a headline before a figure or a batch; "145 more";
# "еще один", "боз як", "one more" anywhere. Elsewhere "еще" is too common a word
# ("еще не", "еще труднее") to mean a repeat.
_ANOTHER_BATCH = re.compile(
    r"^\W*(?:(?i:ещ[её])\s+(?:\d|(?i:двое|трое|групп|парти|рейс|самол))"
    r"|(?i:боз)\s)"
    r"|\b(?i:ещ[её])\s+(?i:одн|один)"
    r"|\b(?i:боз)\s+(?i:як)\b"
    r"|\b\d[\d\s,.]*\s+more\b|\b(?i:one more)\b",
)


def repeats(title: str) -> bool:
    """Whether the headline says this is a repeat (a second flight, resumed talks).

    Not when the ordinal counts days or hours of one happening ("третьи сутки в
    аэропорту", "рӯзи сеюм"), nor for "вторник" (Tuesday) or "треть" (a third).
    A headline that opens on "Еще 145 …", "Ещё одна группа …" or "Боз 145 …", counts
    "145 more", or names "ещё одного разыскиваемого" / "боз як" / "one more" says
    another of the same kind.
    """
    if _ANOTHER_BATCH.search(title):
        return True
    words = [fold_word(w) for w in _WORD.findall(title)]
    for i, word in enumerate(words):
        if not word.startswith(_REPEAT_PREFIXES) or word in _NOT_REPEATS:
            continue
        if word.startswith(_ORDINAL_PREFIXES):
            around = words[i - 1 : i] + words[i + 1 : i + 2]
            if any(w.startswith(_DURATION_PREFIXES) for w in around):
                continue
        return True
    return False


# Words recur across stories: each form is stemmed once per process.
@lru_cache(maxsize=100_000)
def _word_key(form: str, lang: str | None) -> str | None:
    if len(form) < MIN_WORD or form in _STOP:
        return None
    script = script_of(form)
    if script is Script.LATIN:
        return "e:" + english_stem(form)
    if script is Script.CYRILLIC:
        return "t:" + tajik_stem(form) if lang == "tg" else "r:" + russian_stem(form)
    return None


# A story's words as written: one cached call each, not one to fold and one to stem.
@lru_cache(maxsize=100_000)
def _raw_word_key(raw: str, lang: str | None) -> str | None:
    return _word_key(fold_word(raw), lang)


@lru_cache(maxsize=50_000)
def name_key(form: str) -> str:
    """One key for a name in either script: "Душанбе" and "Dushanbe" share it."""
    folded = fold_word(form)
    if script_of(folded) is Script.CYRILLIC:
        return skeleton_stem(cyrillic_skeleton(folded))
    return skeleton_stem(latin_skeleton(folded))


def _read_words(
    part: str,
    lang: str | None,
    weight: int,
    words: Counter[str],
    names: set[str],
    seen: set[str] | None,
) -> None:
    """Count ``part``'s content words into ``words`` (and ``seen``) and add its names to
    ``names``: capitalised words that are not merely first in their sentence, and
    abbreviations.

    Each distinct word is looked at once: the words are counted by the regex and
    Counter (in C), in order of first appearance, so ``words`` fills in the same
    order as one occurrence at a time did (``most_common`` breaks ties by it). A
    capitalised word is a name when some occurrence of it does not open a
    sentence: when it occurs more often than it opens one (``_OPENING``).
    """
    counts = Counter(_WORD.findall(part))
    opening: Counter[str] | None = None
    for raw, count in counts.items():
        key = _raw_word_key(raw, lang)
        if key is not None:
            words[key] += weight * count
            if seen is not None:
                seen.add(key)
        # The cheapest test first: most words are not capitalised.
        if raw[0].isupper():
            name = _capitalised_name_key(raw)
            if name is None or name in names:
                continue
            if not raw.isupper():
                if opening is None:
                    opening = Counter(_OPENING.findall(part))
                if count <= opening[raw]:
                    continue
            names.add(name)


# A word that opens a sentence: at the start, or after a sentence end, with only blanks
# between. Its match is the word ``_WORD`` finds there (what precedes it is no letter,
# nor a hyphen or apostrophe joining it to one).
_OPENING = re.compile(
    "(?:\\A|[" + re.escape("".join(sorted(_SENTENCE_END_CHARS))) + "])\\s*(" + _WORD.pattern + ")"
)


@lru_cache(maxsize=50_000)
def _capitalised_name_key(word: str) -> str | None:
    """``name_key`` of a capitalised word long enough to be a name and not a stop word;
    None for the others (whatever its place in the sentence)."""
    if len(word) < MIN_NAME and not (len(word) >= 2 and word.isupper()):
        return None
    if fold_word(word) in _STOP:
        return None
    return name_key(word)


def _numbers(text: str) -> set[str]:
    """The figures a text gives, as digit strings: "12 300", "12,300", "12,3 тыс.",
    "12 тысяч 300" and "12.3 thousand" all give "12300"."""
    found = set()
    scaled: list[tuple[int, int]] = []
    for match in _SCALED.finditer(text):
        found.add(str(_scaled_value(match)))
        scaled.append(match.span())
    for match in _NUMBER.finditer(text):
        if any(start <= match.start() < end for start, end in scaled):
            continue
        digits = re.sub(r"\D", "", match.group())
        if len(digits) >= 2:
            found.add(digits.lstrip("0") or "0")
    return found


# A figure with a word for its scale, and in Russian the hundreds said after it
# ("12 тысяч 300"), matched in any case.
_SCALES = {
    "тыс": 1_000,
    "thousand": 1_000,
    "ҳазор": 1_000,
    "хазор": 1_000,
    "млн": 1_000_000,
    "миллион": 1_000_000,
    "million": 1_000_000,
    "млрд": 1_000_000_000,
    "миллиард": 1_000_000_000,
    "billion": 1_000_000_000,
}
_SCALED = re.compile(
    rf"(\d[\d\s.,]*\d|\d)\s*({'|'.join(_SCALES)})[^\W\d_]*\.?(?:\s+(\d{{1,3}})(?![\d.,]))?",
    re.IGNORECASE,
)


def _scaled_value(match: re.Match[str]) -> int:
    """The value of a ``_SCALED`` match: one separator followed by one or two digits is
    a decimal mark ("12,3 тыс.", "1.5 million"); other separators group thousands."""
    number, scale, rest = match.group(1), match.group(2).lower(), match.group(3)
    compact = re.sub(r"\s", "", number)
    decimal = re.fullmatch(r"(\d+)[.,](\d{1,2})", compact)
    whole = (
        float(f"{decimal.group(1)}.{decimal.group(2)}")
        if decimal
        else float(re.sub(r"\D", "", compact))
    )
    value = round(whole * _SCALES[scale])
    if rest is not None and _SCALES[scale] == 1_000:
        value += int(rest)
    return value


# Month names as a day is written with them: Russian and Tajik share the stems
# ("27 мая", "27 майи"), English puts the day on either side ("27 May", "May 27").
_MONTH_STEMS = (
    ("январ", "jan"),
    ("феврал", "feb"),
    ("март", "mar"),
    ("апрел", "apr"),
    ("ма[йя]", "may"),
    ("июн", "jun"),
    ("июл", "jul"),
    ("август", "aug"),
    ("сентябр", "sep"),
    ("октябр", "oct"),
    ("ноябр", "nov"),
    ("декабр", "dec"),
)
_CYRILLIC_MONTH = "|".join(f"(?P<m{i}>{stem})" for i, (stem, _) in enumerate(_MONTH_STEMS))
_LATIN_MONTH = "|".join(
    f"(?P<e{i}>{english.capitalize()}[a-z]*\\.?)" for i, (_, english) in enumerate(_MONTH_STEMS)
)
# A day, an ordinal ending if any ("27-уми", "12-го"), then the month; or the month, then the day.
_DAY_MONTH = re.compile(
    rf"(?<!\d)(?P<day>[0-3]?\d)(?:-?(?:ум[иӣ]?|го))?\s+(?:(?i:{_CYRILLIC_MONTH})[^\W\d_]*|{_LATIN_MONTH})"
)
_MONTH_DAY = re.compile(rf"\b(?:{_LATIN_MONTH})\s+(?P<day>[0-3]?\d)(?!\d)")


# Days named relative to the publication: weekdays (Monday first) with the word
# that makes them a day of this week ("в среду", "on Wednesday", "рӯзи чоршанбе";
# a bare "душанбе" is the capital), and yesterday. "Today" is left out: "сегодня в
# России работают…" means nowadays as often as it means this day.
_WEEKDAYS = (
    ("понедельник", "monday", "душанбе"),
    ("вторник", "tuesday", "сешанбе"),
    ("среду", "wednesday", "чоршанбе"),
    ("четверг", "thursday", "пан[ҷч]шанбе"),
    ("пятницу", "friday", "[ҷч]умъа"),
    ("субботу", "saturday", "шанбе"),
    ("воскресенье", "sunday", "якшанбе"),
)
_WEEKDAY = re.compile(
    "|".join(
        rf"\b(?:(?i:во?\s+(?:минувш\w+\s+|прошл\w+\s+)?{ru})|(?i:on|last)\s+{en.capitalize()}"
        rf"|(?i:р[ӯу]зи\s+{tg}))\b(?P<d{i}>)"
        for i, (ru, en, tg) in enumerate(_WEEKDAYS)
    )
)
_YESTERDAY = re.compile(r"(?i)\b(?:вчера|yesterday|дирӯз)\b")


# Where a report says when its happening was: the headline and the lead's first
# sentences. Later paragraphs give the days of earlier happenings ("в понедельник
# 240 человек улетели…" in a report of Wednesday's flight).
LEAD_CHARS = 300


def _lead_end(text: str) -> int:
    """The end of the headline and of the lead's first sentences (``LEAD_CHARS``)."""
    title_end = text.find("\n")
    return max(title_end, 0) + LEAD_CHARS


def named_days(title: str, text: str, published: datetime | None = None) -> frozenset[str]:
    """The days of the year the headline and lead name, as "month-day" ("5-27" for 27
    May); with the publication time, also the weekdays and "yesterday" they name,
    counted back from that day in the report's own time zone (a weekday is the latest
    on or before it). Later paragraphs recall earlier happenings, with their days."""
    return frozenset(_dates(f"{title}\n{text}", published))


def _dates(text: str, published: datetime | None) -> set[str]:
    found = set()
    # Past the lead, days are background ("Ранее, 20 января, …"): an earlier happening.
    lead_end = _lead_end(text)
    for pattern in (_DAY_MONTH, _MONTH_DAY):
        for match in pattern.finditer(text, 0, lead_end):
            day = int(match.group("day"))
            month = next(
                int(name[1:]) + 1
                for name, value in match.groupdict().items()
                if value is not None and name != "day"
            )
            if 1 <= day <= 31:
                found.add(f"{month}-{day}")
    if published is None:
        return found
    today = published.date()
    days = [
        today - timedelta(days=(today.weekday() - int(name[1:])) % 7)
        for match in _WEEKDAY.finditer(text, 0, lead_end)
        for name, value in match.groupdict().items()
        if value is not None
    ]
    if _YESTERDAY.search(text, 0, lead_end):
        days.append(today - timedelta(days=1))
    found.update(f"{day.month}-{day.day}" for day in days)
    return found
