"""A stream of synthetic news stories in Russian, English and Tajik, with reprints mixed in.

Word sequences come from bigram chains trained on the real texts in
``../shared/corpora`` (Russian and English news), so unrelated stories share
common phrases the way real news does; Tajik text comes from a small built-in
set of sentences with names and figures varied. Each outlet adds its own
header and footer lines (the boilerplate that makes unrelated stories of one
outlet look alike). A share of stories are reprints of a recent story: new
headline, a paragraph cut or added, the reprinting outlet's boilerplate,
typos. Memory stays bounded: only the last ``RECENT`` stories are kept.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from bench.dedup import corpora
from crawler.events.signature import EventSignature, signature_of

RECENT = 2000
_WORD = re.compile(r"\S+")

TAJIK_SENTENCES = [
    "Вазорати корҳои дохилии Тоҷикистон дар шаҳри Маскав намояндагии худро мекушояд.",
    "Созишнома дар ин бора дар натиҷаи гуфтушунидҳои вазирон дар Душанбе имзо шуд.",
    "Намояндагӣ ба ҳимояи ҳуқуқҳои муҳоҷирони меҳнатӣ машғул мешавад.",
    "Вазорати меҳнат, муҳоҷират ва шуғли аҳолӣ маълумот дод, ки шумораи муҳоҷирон афзуд.",
    "Дар нишасти матбуотӣ вазир дар бораи натиҷаҳои нӯҳ моҳи сол ҳарф зад.",
    "Ба гуфтаи манбаъ, кормандони полис дар ҳамкорӣ бо ҳамтоёни русӣ кор мекунанд.",
    "Шаҳрвандони Тоҷикистон метавонанд барои машварат ба марказ муроҷиат кунанд.",
    "Ҳукумати ҷумҳурӣ барномаи нави омодасозии муҳоҷиронро тасдиқ кард.",
    "Сафорати Тоҷикистон дар Русия аз шаҳрвандон даъват кард, ки қонунро риоя кунанд.",
    "Мувофиқи омори расмӣ, дар давоми сол беш аз ҳазор нафар ба ватан баргаштанд.",
    "Хадамоти муҳоҷирати Русия қоидаҳои нави бақайдгириро эълон кард.",
    "Вакилони парлумон лоиҳаи қонунро дар хониши аввал дастгирӣ карданд.",
]
TAJIK_NAMES = ["Раҳимзода", "Шарифзода", "Исмоилов", "Назаров", "Қодирова", "Саидов", "Ҳасанов"]
TAJIK_PLACES = ["Душанбе", "Хуҷанд", "Бохтар", "Кӯлоб", "Маскав", "Екатеринбург", "Новосибирск"]


@dataclass(frozen=True)
class Generated:
    id: int
    title: str
    body: str
    url: str
    language: str
    published: datetime
    copy_of: int | None

    def event_signature(self) -> EventSignature:
        """The event signature the crawl would compute for this story."""
        return signature_of(
            title=self.title,
            text=self.body,
            lang=self.language,
            published=self.published,
            url=self.url,
        )


class Chain:
    """Bigram chain over words: ``next`` picks a follower seen in the training text."""

    def __init__(self, texts: list[str]) -> None:
        self.followers: dict[str, list[str]] = defaultdict(list)
        self.starts: list[str] = []
        for text in texts:
            words = _WORD.findall(text)
            if len(words) < 2:
                continue
            self.starts.append(words[0])
            for a, b in pairwise(words):
                self.followers[a].append(b)
        if not self.starts:
            raise ValueError("no training text for the chain")

    def sentence(self, rng: random.Random, length: int) -> str:
        word = rng.choice(self.starts)
        words = [word]
        for _ in range(length - 1):
            options = self.followers.get(word)
            word = rng.choice(options) if options else rng.choice(self.starts)
            words.append(word)
        return " ".join(words)


def training_texts() -> dict[str, list[str]]:
    """Russian and English news text from the shared corpora (empty lists when absent)."""
    texts: dict[str, list[str]] = {"ru": [], "en": []}
    try:
        items, _pairs = corpora.contest_pairs()
    except corpora.CorpusMissingError:
        items = []
    for item in items:
        language = "ru" if re.search("[а-яА-Я]", item.text[:200]) else "en"
        texts[language].append(item.text)
    with suppress(corpora.CorpusMissingError):
        texts["en"] += [d.text for d in corpora.lee_documents()[0]]
    return texts


class StoryStream:
    """Deterministic for a seed; ``copy_rate`` of the stories are reprints of recent ones."""

    def __init__(self, seed: int, copy_rate: float = 0.3, outlets: int = 200) -> None:
        self.rng = random.Random(seed)
        self.copy_rate = copy_rate
        trained = training_texts()
        fallback = TAJIK_SENTENCES  # keeps the bench runnable without the corpora
        self.chains = {
            "ru": Chain(trained["ru"] or fallback),
            "en": Chain(trained["en"] or fallback),
        }
        suffixes = ("", "ҳо", "и", "ро", "ҳои", "ам", "аш")
        pool = {w.strip(".,") for s in TAJIK_SENTENCES for w in s.split()}
        self.tajik_words = sorted(w + x for w in pool for x in suffixes)
        self.outlets = [self._outlet(i) for i in range(outlets)]
        self.recent: deque[Generated] = deque(maxlen=RECENT)
        self.start = datetime(2026, 1, 1, tzinfo=UTC)

    def _outlet(self, i: int) -> tuple[str, str, str, str]:
        language = self._language()
        header = self._sentence(language, 8).rstrip(".") + " —"
        footer = self._sentence(language, 14)
        return f"outlet{i}.example", language, header, footer

    def _language(self) -> str:
        roll = self.rng.random()
        return "ru" if roll < 0.6 else "en" if roll < 0.9 else "tg"

    def _sentence(self, language: str, length: int) -> str:
        if language == "tg":
            # A template with words swapped from the whole Tajik pool, so texts differ.
            words = self.rng.choice(TAJIK_SENTENCES).rstrip(".").split()
            words = [
                self.rng.choice(self.tajik_words) if self.rng.random() < 0.4 else w for w in words
            ]
            extra = f"{self.rng.choice(TAJIK_NAMES)} {self.rng.choice(TAJIK_PLACES)}"
            return f"{' '.join(words)} {extra} {self.rng.randint(2, 9999)}."
        text = self.chains[language].sentence(self.rng, length)
        return text[:1].upper() + text[1:].rstrip(".,;:") + "."

    def __iter__(self) -> Iterator[Generated]:
        n = 0
        while True:
            n += 1
            if self.recent and self.rng.random() < self.copy_rate:
                story = self._reprint(n, self.rng.choice(self.recent))
            else:
                story = self._original(n)
            self.recent.append(story)
            yield story

    def _original(self, n: int) -> Generated:
        host, language, header, footer = self.rng.choice(self.outlets)
        paragraphs = [
            " ".join(self._sentence(language, self.rng.randint(8, 22)) for _ in range(3))
            for _ in range(self.rng.randint(3, 7))
        ]
        if self.rng.random() < 0.7:
            paragraphs = [f"{header} {paragraphs[0]}", *paragraphs[1:], footer]
        title = self._sentence(language, self.rng.randint(6, 11)).rstrip(".")
        published = self.start + timedelta(seconds=30 * n)
        return Generated(
            n, title, "\n\n".join(paragraphs), f"https://{host}/news/{n}", language, published, None
        )

    def _reprint(self, n: int, source: Generated) -> Generated:
        host, _language, header, footer = self.rng.choice(self.outlets)
        paragraphs = source.body.split("\n\n")
        if len(paragraphs) > 3 and self.rng.random() < 0.5:
            paragraphs.pop(self.rng.randrange(1, len(paragraphs)))
        if self.rng.random() < 0.4:
            paragraphs.insert(
                self.rng.randrange(1, len(paragraphs) + 1), self._sentence(source.language, 20)
            )
        if self.rng.random() < 0.6:
            paragraphs = [f"{header} {paragraphs[0]}", *paragraphs[1:], footer]
        body = self._typos("\n\n".join(paragraphs))
        words = source.title.split()
        self.rng.shuffle(words)
        title = " ".join(words[: max(3, len(words) - 2)])
        published = source.published + timedelta(minutes=self.rng.randint(1, 90))
        return Generated(
            n, title, body, f"https://{host}/news/{n}", source.language, published, source.id
        )

    def _typos(self, text: str) -> str:
        chars = list(text)
        for _ in range(self.rng.randint(0, 3)):
            i = self.rng.randrange(1, len(chars) - 1)
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        return "".join(chars)
