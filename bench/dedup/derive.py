"""Derive syndicated copies from real articles: the labelled set for "copies and light rewrites".

On this beat one agency report is reprinted by dozens of outlets within the
hour: a new headline, a dateline or agency credit, a paragraph cut or one of
background added, a "subscribe to our channel" line, a typo fixed or made.
Nobody publishes such families with labels, so they are made here from real
article bodies with a fixed seed. Each copy records the edits applied to it.

Two kinds of copy are made per article:

* ``light`` — a headline rewrite plus one to three of: a paragraph cut, a
  paragraph of background added, boilerplate lines, small edits. These are
  what the deduplicator must join (the 0.95 recall goal).
* ``lead`` — only the first paragraphs kept (a short reprint of a long
  report). Reported separately: its word overlap with the full text can be
  too small for any text-similarity rule.

And two kinds of re-served copy (``served``, its own random stream, so the
sets above do not change):

* ``teaser`` — what a feed or an aggregator shows: the headline and the first
  20 to 60 words of the body, cut mid-sentence, with "…" and a "read more" tail.
* ``wrapped`` — the article as whole-page text: the outlet's navigation above
  it (the same for every page of that outlet), "read also" headlines of other
  articles and the outlet's fixed cookie, copyright and subscription lines
  below it, 80 to 250 words in all; sometimes one typography edit.

Usage::

    python -m bench.dedup.derive [--out DIR] [--seed N] [--copies N]

writes ``derived-en.jsonl`` (from the article-extraction ground truth) and
``derived-ru.jsonl`` (from the Telegram-contest texts) into DIR (a new temp
directory by default). Each line: ``id``, ``title``, ``text``, ``url``,
``source``, ``published``, ``label`` (the original article), ``kind``
(``original``/``light``/``lead``), ``edits``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.dedup import corpora

DEFAULT_SEED = 20261128
DEFAULT_COPIES = 5
_SENTENCE = re.compile(r"(?<=[.!?…])\s+(?=[«\"“A-ZА-ЯЁ0-9])")

OUTLETS = [
    "tass",
    "ria",
    "interfax",
    "asiaplus",
    "sputnik-tj",
    "regnum",
    "fergana",
    "ozodi",
    "lenta",
    "gazeta",
    "kommersant",
    "rbc",
    "mk",
    "aif",
    "reuters-wire",
    "eurasianet",
]
DATELINES = {
    "ru": [
        "МОСКВА, {d} ноября. /ТАСС/.",
        "ДУШАНБЕ, {d} ноя — РИА Новости.",
        "Москва. {d} ноября. INTERFAX.RU -",
        "ДУШАНБЕ, {d} ноя - Sputnik.",
    ],
    "en": [
        "DUSHANBE, Nov {d} (Reuters) -",
        "MOSCOW, November {d}. /TASS/.",
        "(AP) — MOSCOW, Nov. {d}",
        "DUSHANBE, Nov {d} (Asia-Plus) —",
    ],
}
FOOTERS = {
    "ru": [
        "Подписывайтесь на наш Telegram-канал, чтобы первыми узнавать главные новости.",
        "Читайте также: главные события дня в нашем обзоре.",
        "Фото: РИА Новости",
        "Если вы нашли ошибку, выделите её и нажмите Ctrl+Enter.",
        "При цитировании ссылка на источник обязательна.",
    ],
    "en": [
        "Follow us on Telegram and X for the latest updates.",
        "Read more: the day's top stories in our daily briefing.",
        "Photo: Reuters",
        "Sign up for our newsletter to get the news in your inbox.",
        "© 2026 All rights reserved. This material may not be republished.",
    ],
}
BACKGROUND = {"ru": "Ранее сообщалось, что", "en": "Earlier,"}
TEASER_TAILS = {
    "ru": ["Подробнее", "Читать далее", "Читать полностью →", "Подробности по ссылке"],
    "en": ["Read more", "Continue reading", "Full story »", "More at the link"],
}
SECTIONS = {
    "ru": [
        "Главная",
        "Новости",
        "Политика",
        "Экономика",
        "Общество",
        "Происшествия",
        "В мире",
        "Регионы",
        "Спорт",
        "Культура",
        "Наука",
        "Технологии",
        "Здоровье",
        "Авто",
        "Недвижимость",
        "Мнения",
        "Интервью",
        "Фото",
        "Видео",
        "Спецпроекты",
        "Архив",
        "Контакты",
        "Реклама",
    ],
    "en": [
        "Home",
        "News",
        "Politics",
        "Business",
        "World",
        "Europe",
        "Asia",
        "Opinion",
        "Sport",
        "Culture",
        "Science",
        "Technology",
        "Health",
        "Travel",
        "Video",
        "Podcasts",
        "Newsletters",
        "Archive",
        "Contact",
        "Advertise",
    ],
}
READ_ALSO = {"ru": "Читайте также:", "en": "Read also:"}
SITE_LINES = {
    "ru": [
        (
            "Мы используем файлы cookie, чтобы сайт работал лучше. Продолжая пользоваться "
            "сайтом, вы соглашаетесь с политикой конфиденциальности и условиями использования."
        ),
        (
            "Все права защищены. Любое использование материалов допускается только при "
            "наличии гиперссылки на сайт редакции."
        ),
        (
            "Сетевое издание зарегистрировано Федеральной службой по надзору в сфере связи, "
            "информационных технологий и массовых коммуникаций. Главный редактор, адрес "
            "редакции и телефон указаны в разделе «Контакты»."
        ),
        (
            "Подписывайтесь на наши каналы в Telegram, ВКонтакте и Дзене, чтобы не пропустить "
            "главные новости дня."
        ),
        (
            "Материалы с пометкой «Реклама» публикуются на правах рекламы. Редакция не несет "
            "ответственности за содержание рекламных объявлений."
        ),
        (
            "Сообщить новость редакции можно через форму обратной связи или по электронной "
            "почте, мы отвечаем в течение суток."
        ),
        (
            "Информационное агентство. Свидетельство о регистрации выдано в 2012 году. "
            "Возрастная категория 16+."
        ),
    ],
    "en": [
        (
            "We use cookies to improve your experience on our site. By continuing to browse "
            "you agree to our privacy policy and terms of use."
        ),
        (
            "All rights reserved. This material may not be published, broadcast, rewritten "
            "or redistributed without permission."
        ),
        (
            "Our journalism is funded by readers like you. Support independent reporting "
            "with a monthly contribution from as little as one dollar."
        ),
        (
            "Sign up for the morning briefing: the stories you need to know, delivered to "
            "your inbox every weekday at six."
        ),
        (
            "Sponsored content is produced by our commercial team and is not written or "
            "edited by the newsroom."
        ),
        (
            "Have a news tip? Contact the newsroom through our secure form or by email; we "
            "read every message."
        ),
        (
            "Registered as a news agency in 2012. Editorial office address and phone "
            "numbers are on the contacts page."
        ),
    ],
}
HEADLINE_PREFIXES = {
    "ru": ["Срочно:", "СМИ:", "Источник:", "Эксклюзив:", "Официально:"],
    "en": ["Breaking:", "Report:", "Exclusive:", "Update:", "Officials:"],
}


@dataclass
class Article:
    key: str
    title: str
    paragraphs: list[str]
    language: str


@dataclass
class Derived:
    id: str
    title: str
    text: str
    url: str
    source: str
    published: str
    label: str
    kind: str
    language: str
    edits: list[str] = field(default_factory=list)


def copy_of(
    rng: random.Random,
    article: Article,
    copy_id: str,
    made: tuple[str, str],
    *,
    kind: str,
    outlet: str,
    start: datetime,
    edits: list[str],
) -> Derived:
    """A copy (title, text) of ``article`` at ``outlet``: copies appear within the hour,
    in any order relative to the original, each under an address of its own."""
    title, text = made
    published = start + timedelta(minutes=rng.randint(-20, 60))
    return Derived(
        id=copy_id,
        title=title,
        text=text,
        url=f"https://{outlet}.example/{published:%Y/%m/%d}/{rng.randrange(10**6)}",
        source=outlet,
        published=published.isoformat(),
        label=article.key,
        kind=kind,
        language=article.language,
        edits=edits,
    )


def paragraphs_of(text: str) -> list[str]:
    """Paragraphs as published; one-block texts are cut into groups of three sentences."""
    blocks = [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]
    if len(blocks) >= 3:
        return blocks
    sentences = [s for block in blocks for s in _SENTENCE.split(block) if s.strip()]
    return [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]


def sentences_of(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s.strip()]


class Deriver:
    """Makes copies of one article at a time; all randomness comes from one seeded RNG."""

    def __init__(self, articles: list[Article], seed: int) -> None:
        self.articles = articles
        self.rng = random.Random(seed)
        self.base_time = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)

    def family(self, index: int, copies: int) -> list[Derived]:
        article = self.articles[index]
        start = self.base_time + timedelta(minutes=37 * index)
        outlets = self.rng.sample(OUTLETS, copies + 2)
        family = [self._original(article, outlets[0], start)]
        for n in range(copies):
            kind = "lead" if n == copies - 1 and len(article.paragraphs) >= 4 else "light"
            family.append(self._copy(article, n, kind, outlets[n + 1], start))
        return family

    def _original(self, article: Article, outlet: str, start: datetime) -> Derived:
        return Derived(
            id=f"{article.key}:0",
            title=article.title,
            text="\n\n".join(article.paragraphs),
            url=f"https://{outlet}.example/news/{article.key}",
            source=outlet,
            published=start.isoformat(),
            label=article.key,
            kind="original",
            language=article.language,
        )

    def _copy(self, article: Article, n: int, kind: str, outlet: str, start: datetime) -> Derived:
        paragraphs = list(article.paragraphs)
        edits: list[str] = []
        title = self._headline(article, edits)
        if kind == "lead":
            keep = max(1, round(len(paragraphs) * self.rng.uniform(0.3, 0.5)))
            paragraphs = paragraphs[:keep]
            edits.append(f"lead:{keep}/{len(article.paragraphs)}")
        else:
            operations = [self._cut, self._add_background, self._boilerplate, self._small_edits]
            for operation in self.rng.sample(operations, self.rng.randint(1, 3)):
                paragraphs = operation(article, paragraphs, edits)
        return copy_of(
            self.rng,
            article,
            f"{article.key}:{n + 1}",
            (title, "\n\n".join(paragraphs)),
            kind=kind,
            outlet=outlet,
            start=start,
            edits=edits,
        )

    def _headline(self, article: Article, edits: list[str]) -> str:
        words = article.title.split()
        choice = self.rng.randrange(4)
        if choice == 0:
            edits.append("headline:prefix")
            return f"{self.rng.choice(HEADLINE_PREFIXES[article.language])} {article.title}"
        if choice == 1 and len(article.paragraphs) > 1:
            edits.append("headline:from-body")
            sentence = self.rng.choice(sentences_of(article.paragraphs[0]) or [article.title])
            return " ".join(sentence.split()[:12]).rstrip(",.;:")
        if choice == 2 and len(words) > 4:
            edits.append("headline:reorder")
            cut = self.rng.randrange(2, len(words) - 1)
            return " ".join(words[cut:] + words[:cut])
        edits.append("headline:drop-words")
        kept = [w for w in words if self.rng.random() > 0.3] or words[:3]
        return " ".join(kept)

    def _cut(self, article: Article, paragraphs: list[str], edits: list[str]) -> list[str]:
        if len(paragraphs) < 3:
            sentences = sentences_of(paragraphs[-1])
            if len(sentences) < 2:
                return paragraphs
            edits.append("cut:sentence")
            sentences.pop(self.rng.randrange(1, len(sentences)))
            return [*paragraphs[:-1], " ".join(sentences)]
        position = self.rng.randrange(1, len(paragraphs))
        edits.append(f"cut:paragraph{position}")
        return paragraphs[:position] + paragraphs[position + 1 :]

    def _add_background(
        self, article: Article, paragraphs: list[str], edits: list[str]
    ) -> list[str]:
        others = [a for a in self.articles if a.language == article.language and a is not article]
        donor = self.rng.choice(others)
        sentence = self.rng.choice(sentences_of(self.rng.choice(donor.paragraphs)))
        sentence = " ".join(sentence.split()[:40])
        added = f"{BACKGROUND[article.language]} {sentence[:1].lower()}{sentence[1:]}"
        position = self.rng.randrange(1, len(paragraphs) + 1)
        edits.append(f"add:background@{position}")
        return [*paragraphs[:position], added, *paragraphs[position:]]

    def _boilerplate(self, article: Article, paragraphs: list[str], edits: list[str]) -> list[str]:
        language = article.language
        result = list(paragraphs)
        if self.rng.random() < 0.6:
            dateline = self.rng.choice(DATELINES[language]).format(d=self.rng.randint(1, 30))
            result[0] = f"{dateline} {result[0]}"
            edits.append("boilerplate:dateline")
        footers = self.rng.sample(FOOTERS[language], self.rng.randint(1, 2))
        edits.append(f"boilerplate:footer{len(footers)}")
        return result + footers

    def _small_edits(self, article: Article, paragraphs: list[str], edits: list[str]) -> list[str]:
        text = "\n\n".join(paragraphs)
        text = text.replace("«", '"').replace("»", '"').replace("ё", "е").replace(" — ", " - ")
        words = text.split(" ")
        for _ in range(self.rng.randint(1, 3)):
            i = self.rng.randrange(len(words))
            word = words[i]
            if len(word) > 4 and word.isalpha():
                j = self.rng.randrange(1, len(word) - 2)
                words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
        edits.append("edit:typos+typography")
        return [p for p in " ".join(words).split("\n\n") if p.strip()]


class Server:
    """Re-served copies (``teaser``, ``wrapped``) from a random stream of their own."""

    def __init__(self, articles: list[Article], seed: int) -> None:
        self.articles = articles
        self.rng = random.Random(seed + 1)
        self.base_time = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)

    def copies(self, index: int) -> list[Derived]:
        article = self.articles[index]
        start = self.base_time + timedelta(minutes=37 * index)
        outlets = self.rng.sample(OUTLETS, 2)
        return [
            self._copy(article, "teaser", outlets[0], start, self._teaser(article)),
            self._copy(article, "wrapped", outlets[1], start, self._wrapped(article, outlets[1])),
        ]

    def _copy(
        self, article: Article, kind: str, outlet: str, start: datetime, made: tuple[str, str]
    ) -> Derived:
        return copy_of(
            self.rng,
            article,
            f"{article.key}:{kind}",
            made,
            kind=kind,
            outlet=outlet,
            start=start,
            edits=[kind],
        )

    def _teaser(self, article: Article) -> tuple[str, str]:
        words = " ".join(article.paragraphs).split()
        cut = " ".join(words[: self.rng.randint(20, 60)]).rstrip(",.;:—-")
        tail = self.rng.choice(TEASER_TAILS[article.language])
        return article.title, f"{cut}… {tail}"

    def _wrapped(self, article: Article, outlet: str) -> tuple[str, str]:
        language = article.language
        site = random.Random(f"{outlet}:{language}")  # every page of an outlet looks alike
        menu = " ".join(site.sample(SECTIONS[language], site.randint(8, 16)))
        fixed = site.sample(SITE_LINES[language], 3)
        others = [a for a in self.articles if a.language == language and a is not article]
        related = [a.title for a in self.rng.sample(others, self.rng.randint(3, 6))]
        body = list(article.paragraphs)
        if self.rng.random() < 0.5:
            body = [p.replace("«", '"').replace("»", '"').replace(" — ", " - ") for p in body]
        page = [
            f"{outlet.upper()} {menu}",
            article.title,
            *body,
            READ_ALSO[language],
            *related,
            *fixed[: self.rng.randint(1, 3)],
        ]
        return article.title, "\n\n".join(page)


def served(articles: list[Article], seed: int = DEFAULT_SEED) -> list[Derived]:
    """A teaser and a whole-page copy of every article (labels as in ``derive``)."""
    server = Server(articles, seed)
    rows = [row for i in range(len(articles)) for row in server.copies(i)]
    random.Random(seed + 1).shuffle(rows)
    return rows


def derive(
    articles: list[Article], seed: int = DEFAULT_SEED, copies: int = DEFAULT_COPIES
) -> list[Derived]:
    deriver = Deriver(articles, seed)
    rows = [row for i in range(len(articles)) for row in deriver.family(i, copies)]
    random.Random(seed).shuffle(rows)
    return rows


def english_articles(ground_truth: Path) -> list[Article]:
    """Article-extraction ground truth: a headline from the first sentence (no titles there)."""
    data = json.loads(ground_truth.read_text(encoding="utf-8"))
    articles = []
    for key, entry in sorted(data.items()):
        paragraphs = paragraphs_of(entry["articleBody"])
        if not paragraphs:
            continue
        first = sentences_of(paragraphs[0]) or [paragraphs[0]]
        title = " ".join(first[0].split()[:14]).rstrip(",.;:")
        articles.append(Article(key[:12], title, paragraphs, "en"))
    return articles


def contest_articles(folder: Path) -> list[Article]:
    """Telegram-contest texts; of each same-thread pair only the first, so labels stay true."""
    articles: dict[str, Article] = {}
    for item in corpora.contest_items(folder, one_per_thread=True):
        if item.text in articles or len(item.text.split()) < 40:
            continue
        language = "en" if item.pool.startswith("en") else "ru"
        key = f"tg{len(articles):04d}"
        articles[item.text] = Article(key, item.title, paragraphs_of(item.text), language)
    return list(articles.values())


def write_jsonl(rows: Iterable[Derived], path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(asdict(row), ensure_ascii=False) + "\n")
            count += 1
    return count


def iter_sets(
    seed: int, copies: int, *, with_served: bool = False
) -> Iterator[tuple[str, list[Derived]]]:
    """(name, rows) per language; ``with_served`` appends the teaser and whole-page copies."""
    for name, articles in (
        ("derived-en", english_articles(corpora.ground_truth_path())),
        ("derived-ru", contest_articles(corpora.contest_folder())),
    ):
        rows = derive(articles, seed, copies)
        yield name, rows + served(articles, seed) if with_served else rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: temp)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--copies", type=int, default=DEFAULT_COPIES)
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="dedup-derived-"))
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in iter_sets(args.seed, args.copies, with_served=True):
        count = write_jsonl(rows, out / f"{name}.jsonl")
        print(f"{out / (name + '.jsonl')}: {count} stories")


if __name__ == "__main__":
    main()
