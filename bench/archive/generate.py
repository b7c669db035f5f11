"""Synthetic archive for the search benchmark: N mixed Russian/English/Tajik stories.

Text comes from word-bigram chains trained on real news in this repository
(the labelled topic stories, the fixture news site) and, when they are beside
the checkout, the shared corpora (Russian and English news, Russian
headlines). Chains keep real collocations ("трудовых мигрантов", "interior
ministry"), so phrase queries meet the word co-occurrences real news has. A
long tail of generated names (about 3% of words, Zipf-distributed over
200,000 per language) gives the vocabulary a realistic size. Dates spread
over three years, denser towards the present; 5% of stories have no date;
12% are reprints of a recent story and share its cluster.

    .venv/bin/python -m bench.archive.generate --n 1000000 --out data/bench/archive-1m.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import random
import re
import sys
import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from itertools import accumulate, pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOPIC_STORIES = ROOT / "tests" / "data" / "topic_police_liaison.jsonl"
DEMO_SITES = ROOT / "wirewatch" / "demo_site" / "sites"
LANGUAGES = (("ru", 0.55), ("en", 0.25), ("tg", 0.20))
SOURCES_PER_LANGUAGE = {"ru": 30, "en": 18, "tg": 12}
TAIL_WORDS = 200_000
TAIL_RATE = 0.03
REPRINT_RATE = 0.12
UNDATED_RATE = 0.05
YEARS = 3

_TAG = re.compile(r"<[^>]+>")
_PARAGRAPH = re.compile(r"<p\b[^>]*>(.*?)</p>", re.DOTALL | re.IGNORECASE)
_TOKEN = re.compile(r"\S+")
_CYRILLIC = re.compile("[а-яёА-ЯЁ]")
_TAJIK = re.compile("[ҳҷӣӯқғҲҶӢӮҚҒ]")


def _paragraphs(path: Path) -> list[str]:
    raw = path.read_text(encoding="utf-8", errors="replace")
    found = (html.unescape(_TAG.sub(" ", p)).strip() for p in _PARAGRAPH.findall(raw))
    return [p for p in found if len(p) > 60]


def _language_of(text: str) -> str:
    return "tg" if _TAJIK.search(text) else "ru" if _CYRILLIC.search(text) else "en"


def training_texts() -> dict[str, list[str]]:
    texts: dict[str, list[str]] = {"ru": [], "en": [], "tg": []}
    for line in TOPIC_STORIES.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        texts[item["lang"]].append(f"{item['title']}. {item['text']}")
    for path in sorted(DEMO_SITES.rglob("*.html")):
        for paragraph in _paragraphs(path):
            texts[_language_of(paragraph)].append(paragraph)
    with suppress(ImportError, FileNotFoundError):
        from bench.dedup import corpora

        items, _pairs = corpora.contest_pairs()
        for item in items:
            texts[_language_of(item.text[:300])].append(item.text)
        headlines, _ = corpora.paraphraser_pairs()
        texts["ru"].extend(h.text for h in headlines)
        texts["en"].extend(d.text for d in corpora.lee_documents()[0])
    with suppress(ImportError):
        from bench.dedup.synthetic import TAJIK_SENTENCES

        texts["tg"].extend(TAJIK_SENTENCES)
    return texts


class Chain:
    """Word-bigram chain: each next word is one seen after the current one in real text."""

    def __init__(self, texts: list[str]) -> None:
        followers: dict[str, list[str]] = defaultdict(list)
        self.starts: list[str] = []
        for text in texts:
            words = _TOKEN.findall(text)
            if len(words) < 3:
                continue
            self.starts.append(words[0])
            for a, b in pairwise(words):
                followers[a].append(b)
        self.followers = dict(followers)

    def words(self, rng: random.Random, count: int) -> list[str]:
        word = rng.choice(self.starts)
        out = [word]
        while len(out) < count:
            options = self.followers.get(word)
            word = rng.choice(options) if options else rng.choice(self.starts)
            out.append(word)
        return out


_SYLLABLES = {
    "ru": [
        "ба",
        "ва",
        "га",
        "да",
        "жа",
        "за",
        "ка",
        "ла",
        "ма",
        "на",
        "па",
        "ра",
        "са",
        "та",
        "фа",
        "ха",
        "ца",
        "ча",
        "ша",
        "ов",
        "ев",
        "ин",
        "ко",
        "ро",
        "ло",
        "то",
        "но",
        "ми",
        "ни",
        "ри",
        "ти",
    ],
    "en": [
        "ba",
        "ve",
        "ga",
        "do",
        "ka",
        "lo",
        "ma",
        "ne",
        "pa",
        "ri",
        "sa",
        "to",
        "ter",
        "son",
        "ley",
        "ton",
        "mar",
        "bel",
        "cor",
        "din",
        "fal",
        "gan",
        "har",
    ],
    "tg": [
        "зо",
        "да",
        "ҷон",
        "ҳа",
        "қо",
        "ғу",
        "мо",
        "на",
        "ро",
        "со",
        "то",
        "ша",
        "ни",
        "ди",
        "бе",
        "ру",
        "хо",
        "ӣ",
        "ёр",
        "зод",
        "ов",
        "ва",
    ],
}


class Tail:
    """Rare words (names, places, terms): Zipf-distributed over a large generated pool."""

    def __init__(self, rng: random.Random, language: str) -> None:
        syllables = _SYLLABLES[language]
        self.pool = [
            "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))).capitalize()
            for _ in range(TAIL_WORDS)
        ]
        self.cumulative = list(accumulate(1.0 / (rank + 1) for rank in range(TAIL_WORDS)))

    def word(self, rng: random.Random) -> str:
        x = rng.random() * self.cumulative[-1]
        return self.pool[min(bisect_left(self.cumulative, x), TAIL_WORDS - 1)]


class Generator:
    def __init__(self, seed: int, n: int) -> None:
        self.rng = random.Random(seed)
        self.n = n
        texts = training_texts()
        self.chains = {lang: Chain(texts[lang]) for lang, _ in LANGUAGES}
        self.tails = {lang: Tail(self.rng, lang) for lang, _ in LANGUAGES}
        self.sources = [
            (f"{lang}-outlet-{i:02d}", lang)
            for lang, count in SOURCES_PER_LANGUAGE.items()
            for i in range(count)
        ]
        self.end = datetime(2026, 11, 28, tzinfo=UTC)
        self.recent: list[dict[str, object]] = []

    def _text(self, language: str, count: int) -> str:
        words = self.chains[language].words(self.rng, count)
        tail = self.tails[language]
        return " ".join(tail.word(self.rng) if self.rng.random() < TAIL_RATE else w for w in words)

    def _when(self, i: int) -> datetime:
        # quadratic density: more stories per day towards the end
        fraction = ((i + self.rng.random()) / self.n) ** 0.5
        return self.end - timedelta(days=YEARS * 365 * (1 - fraction))

    def __iter__(self) -> Iterator[dict[str, object]]:
        cluster = 0
        for i in range(self.n):
            when = self._when(i)
            if self.recent and self.rng.random() < REPRINT_RATE:
                original = self.rng.choice(self.recent)
                source, _ = self.rng.choice([s for s in self.sources if s[1] == original["lang"]])
                body = str(original["body"])
                sentences = body.split(". ")
                if len(sentences) > 2:
                    sentences.pop(self.rng.randrange(len(sentences)))
                story = {
                    **original,
                    "id": i + 1,
                    "source": source,
                    "title": str(original["title"]),
                    "body": ". ".join(sentences),
                    "url": f"https://{source}.example/news/{i + 1}",
                }
                if original["cluster"] is None:
                    cluster += 1
                    original["cluster"] = cluster
                story["cluster"] = original["cluster"]
            else:
                source, language = self.rng.choice(self.sources)
                words = max(20, min(int(self.rng.lognormvariate(5.0, 0.5)), 900))
                story = {
                    "id": i + 1,
                    "lang": language,
                    "source": source,
                    "title": self._text(language, self.rng.randint(6, 12)),
                    "body": self._text(language, words),
                    "url": f"https://{source}.example/news/{i + 1}",
                    "cluster": None,
                }
            undated = self.rng.random() < UNDATED_RATE
            story["published"] = None if undated else when.isoformat()
            story["fetched"] = (when + timedelta(minutes=self.rng.randint(1, 120))).isoformat()
            self.recent.append(story)
            if len(self.recent) > 500:
                self.recent.pop(0)
            yield story


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with gzip.open(args.out, "wt", encoding="utf-8", compresslevel=3) as out:
        for story in Generator(args.seed, args.n):
            out.write(json.dumps(story, ensure_ascii=False) + "\n")
            number = int(str(story["id"]))
            if number % 100_000 == 0:
                print(f"{number:,} stories", file=sys.stderr, flush=True)
    print(f"{args.n:,} stories in {time.perf_counter() - started:.0f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
