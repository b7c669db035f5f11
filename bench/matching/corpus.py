"""Synthetic mixed Russian/English/Tajik news stories and topic queries.

Real news words seed each vocabulary; generated words of the same shape fill
it up to a realistic size, and every word is drawn with a Zipf-like frequency
so a few words are everywhere and most are rare, as in real text. Everything
is reproducible from the seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from core.query import Document

SEEDS = {
    "ru": [
        "и",
        "в",
        "на",
        "что",
        "с",
        "по",
        "не",
        "для",
        "из",
        "от",
        "о",
        "к",
        "это",
        "как",
        "также",
        "года",
        "полиция",
        "министерство",
        "мвд",
        "мигранты",
        "мигрантов",
        "миграции",
        "соглашение",
        "представительство",
        "офис",
        "россия",
        "таджикистан",
        "узбекистан",
        "москва",
        "душанбе",
        "президент",
        "правительство",
        "власти",
        "граждан",
        "работы",
        "закон",
        "суд",
        "дело",
        "задержали",
        "сообщили",
        "заявил",
        "встреча",
        "визит",
        "переговоры",
        "сотрудничество",
        "экономика",
        "рост",
        "цены",
        "рубль",
        "доллар",
        "банк",
        "компания",
        "рынок",
        "нефть",
        "газ",
        "энергетика",
        "граница",
        "безопасность",
        "армия",
        "война",
        "мир",
        "выборы",
        "партия",
        "депутаты",
        "школа",
        "больница",
        "врачи",
        "погода",
        "дождь",
        "снег",
        "транспорт",
        "дорога",
        "аэропорт",
        "поезд",
        "авиакомпания",
        "туризм",
    ],
    "en": [
        "the",
        "of",
        "and",
        "to",
        "in",
        "a",
        "on",
        "for",
        "with",
        "that",
        "is",
        "was",
        "said",
        "by",
        "from",
        "at",
        "as",
        "it",
        "police",
        "ministry",
        "interior",
        "migrants",
        "migration",
        "agreement",
        "office",
        "representative",
        "russia",
        "tajikistan",
        "uzbekistan",
        "moscow",
        "dushanbe",
        "president",
        "government",
        "officials",
        "citizens",
        "work",
        "law",
        "court",
        "case",
        "detained",
        "reported",
        "said",
        "meeting",
        "visit",
        "talks",
        "cooperation",
        "economy",
        "growth",
        "prices",
        "rouble",
        "dollar",
        "bank",
        "company",
        "market",
        "oil",
        "gas",
        "energy",
        "border",
        "security",
        "army",
        "war",
        "peace",
        "elections",
        "party",
        "lawmakers",
        "school",
        "hospital",
        "doctors",
        "weather",
        "rain",
        "snow",
        "transport",
        "road",
        "airport",
        "train",
        "airline",
        "tourism",
    ],
    "tg": [
        "ва",
        "дар",
        "бо",
        "аз",
        "ки",
        "барои",
        "ин",
        "он",
        "шуд",
        "мебошад",
        "кард",
        "гуфт",
        "милитсия",
        "вазорати",
        "корҳои",
        "дохилӣ",
        "муҳоҷирон",
        "муҳоҷират",
        "созишнома",
        "намояндагӣ",
        "дафтар",
        "русия",
        "тоҷикистон",
        "ӯзбекистон",
        "маскав",
        "душанбе",
        "президент",
        "ҳукумат",
        "мақомот",
        "шаҳрвандон",
        "кор",
        "қонун",
        "суд",
        "парванда",
        "боздошт",
        "хабар",
        "дод",
        "мулоқот",
        "сафар",
        "музокира",
        "ҳамкорӣ",
        "иқтисод",
        "рушд",
        "нарх",
        "сомонӣ",
        "доллар",
        "бонк",
        "ширкат",
        "бозор",
        "нафт",
        "газ",
        "энергетика",
        "сарҳад",
        "амният",
        "артиш",
        "ҷанг",
        "сулҳ",
        "интихобот",
        "ҳизб",
        "вакилон",
        "мактаб",
        "беморхона",
        "табибон",
        "обу",
        "ҳаво",
        "борон",
        "барф",
        "нақлиёт",
    ],
}

_ONSETS = {
    "ru": [
        "б",
        "в",
        "г",
        "д",
        "ж",
        "з",
        "к",
        "л",
        "м",
        "н",
        "п",
        "р",
        "с",
        "т",
        "ф",
        "х",
        "ц",
        "ч",
        "ш",
        "бр",
        "вл",
        "гр",
        "др",
        "кр",
        "пр",
        "ст",
        "тр",
    ],
    "en": [
        "b",
        "c",
        "d",
        "f",
        "g",
        "h",
        "j",
        "k",
        "l",
        "m",
        "n",
        "p",
        "r",
        "s",
        "t",
        "v",
        "w",
        "br",
        "cl",
        "dr",
        "fl",
        "gr",
        "pl",
        "pr",
        "sh",
        "st",
        "th",
        "tr",
    ],
    "tg": [
        "б",
        "в",
        "г",
        "ғ",
        "д",
        "ҷ",
        "з",
        "к",
        "қ",
        "л",
        "м",
        "н",
        "п",
        "р",
        "с",
        "т",
        "ф",
        "х",
        "ҳ",
        "ч",
        "ш",
        "бр",
        "гр",
        "др",
        "кр",
        "пр",
        "ст",
    ],
}
_VOWELS = {
    "ru": list("аеиоуыяю"),
    "en": ["a", "e", "i", "o", "u", "ea", "ou"],
    "tg": list("аеиоуӣӯ"),
}
_ENDINGS = {
    "ru": ["", "а", "ы", "ов", "ами", "ах", "ой", "ый", "ие", "ому", "ение", "ость"],
    "en": ["", "s", "ed", "ing", "er", "ers", "tion", "ment", "ly"],
    "tg": ["", "ҳо", "он", "ро", "и", "ӣ", "ҳои", "онро", "гӣ", "ият"],
}
LANG_SHARES = (("ru", 0.4), ("en", 0.3), ("tg", 0.3))


@dataclass
class Vocabulary:
    lang: str
    lemmas: list[str]
    weights: list[float]

    def word(self, rng: random.Random) -> str:
        lemma = rng.choices(self.lemmas, cum_weights=self.weights)[0]
        if rng.random() < 0.4:
            lemma += rng.choice(_ENDINGS[self.lang][1:])
        return lemma


def _pseudo_word(rng: random.Random, lang: str) -> str:
    syllables = rng.randint(2, 4)
    return "".join(rng.choice(_ONSETS[lang]) + rng.choice(_VOWELS[lang]) for _ in range(syllables))


def build_vocabularies(seed: int = 7, size: int = 6000) -> dict[str, Vocabulary]:
    rng = random.Random(seed)
    vocabularies = {}
    for lang, seeds in SEEDS.items():
        lemmas = list(dict.fromkeys(seeds))
        seen = set(lemmas)
        while len(lemmas) < size:
            word = _pseudo_word(rng, lang)
            if word not in seen:
                seen.add(word)
                lemmas.append(word)
        cumulative, total = [], 0.0
        for rank in range(1, len(lemmas) + 1):
            total += 1.0 / rank**1.05
            cumulative.append(total)
        vocabularies[lang] = Vocabulary(lang, lemmas, cumulative)
    return vocabularies


def _lang(rng: random.Random) -> str:
    return rng.choices([lang for lang, _ in LANG_SHARES], [w for _, w in LANG_SHARES])[0]


def stories(count: int, vocabularies: dict[str, Vocabulary], seed: int = 11) -> list[Document]:
    rng = random.Random(seed)
    docs = []
    for _ in range(count):
        vocab = vocabularies[_lang(rng)]
        title = " ".join(vocab.word(rng) for _ in range(rng.randint(6, 11))).capitalize()
        sentences = []
        for _ in range(rng.randint(2, 4)):
            words = [vocab.word(rng) for _ in range(rng.randint(10, 20))]
            sentences.append(" ".join(words).capitalize() + ".")
        docs.append(Document(title=title, text=" ".join(sentences), lang=vocab.lang))
    return docs


def _content_word(rng: random.Random, vocab: Vocabulary) -> str:
    # Topic writers pick content words: skip the ~40 most frequent (function) words.
    return vocab.lemmas[rng.randint(40, len(vocab.lemmas) - 1)]


def topic_queries(count: int, vocabularies: dict[str, Vocabulary], seed: int = 13) -> list[str]:
    """Queries of 2–4 terms in the shapes people write: AND, OR-groups, phrases,
    NEAR, NOT and wildcards."""
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        vocab = vocabularies[_lang(rng)]
        terms = [_content_word(rng, vocab) for _ in range(rng.randint(2, 4))]
        shape = rng.random()
        if shape < 0.55:
            query = " ".join(terms)
        elif shape < 0.70 and len(terms) >= 3:
            query = f"{terms[0]} ({' OR '.join(terms[1:])})"
        elif shape < 0.80:
            query = f'"{terms[0]} {terms[1]}" ' + " ".join(terms[2:])
        elif shape < 0.88:
            query = f"{terms[0]} NEAR/5 {terms[1]} " + " ".join(terms[2:])
        elif shape < 0.94:
            query = " ".join(terms[:-1]) + f" -{terms[-1]}"
        else:
            query = f"{terms[0][:5]}* " + " ".join(terms[1:])
        queries.append(query.strip())
    return queries
