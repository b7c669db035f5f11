"""The labelled material for same-event grouping, loaded as signatures.

* ``tests/data/events/*.jsonl``: our own reports of events (ru / tg / en,
  Telegram posts beside articles) with near-miss events, split by event into
  ``dev`` (tuning) and ``test`` (reporting only);
* the Telegram clustering contest's labelled pairs in
  ``../shared/corpora/dedup/tgcontest-pairs/`` (read by path; absent → skipped),
  every pool together, split into ``dev`` and ``test`` halves by story: pairs
  that share an article (by URL) are one group, and a group's half is decided
  by a hash of its first URL, so no article is seen in both halves and the
  split never depends on the labels or on the order of the files;
* ParaPhraser.ru's Russian news-headline pairs in
  ``../shared/corpora/dedup/paraphraser-ru/paraphrases.xml`` (absent → []),
  split into ``dev`` and ``test`` the same way: pairs sharing a headline (by
  its id) are one group, a hash of the group's smallest pair id decides, so no
  headline is seen in both halves.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from pathlib import Path
from xml.etree import ElementTree

from bench.groups import linked_groups
from crawler.events.pairs import DocumentFrequencies, background
from crawler.events.signature import EventSignature, signature_of

ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = ROOT / "tests" / "data" / "events"
BEAT_DIR = ROOT / "tests" / "data" / "beat"
TOPIC_FILE = ROOT / "tests" / "data" / "topic_police_liaison.jsonl"
CONTEST_DIR = ROOT.parent / "shared" / "corpora" / "dedup" / "tgcontest-pairs"
PARAPHRASER_FILE = (
    ROOT.parent / "shared" / "corpora" / "dedup" / "paraphraser-ru" / "paraphrases.xml"
)
CONTEST_FILES = ("ru_train_pool.tsv", "ru_exam_pool.tsv", "ru_honey_pool.tsv", "en_train_pool.tsv")


@dataclass(frozen=True)
class Report:
    id: str
    event: str
    family: str  # the event a near miss imitates, else the event itself
    lang: str
    kind: str
    split: str
    signature: EventSignature
    title: str = ""
    text: str = ""


def load_reports(split: str | None = None, folder: Path = EVENTS_DIR) -> list[Report]:
    """Every labelled report (of one split, or all)."""
    reports = []
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                row = json.loads(line)
                if split is not None and row["split"] != split:
                    continue
                reports.append(
                    Report(
                        id=row["id"],
                        event=row["event"],
                        family=row.get("near_miss_of") or row["event"],
                        lang=row["lang"],
                        kind=row.get("kind", "article"),
                        split=row["split"],
                        signature=signature_of(
                            title=row.get("title") or "",
                            text=row.get("text") or "",
                            lang=row["lang"],
                            published=datetime.fromisoformat(row["published"]),
                            url=row.get("url"),
                            links=row.get("links") or [],
                            source=row.get("source"),
                        ),
                        title=row.get("title") or "",
                        text=row.get("text") or "",
                    )
                )
    return reports


# Batches written after the model and the lexicon were tuned, by people who had read
# neither (``events_d`` and ``events_g``: test only, never read; the others half
# development, half test).
INDEPENDENT_BATCHES = ("c-", "d-", "e-", "f-", "g-", "h-")


def independent(reports: list[Report]) -> list[Report]:
    """The reports of the independent batches (by id)."""
    return [r for r in reports if r.id.startswith(INDEPENDENT_BATCHES)]


def labelled_pairs(reports: list[Report]) -> Iterator[tuple[Report, Report, bool]]:
    """Every pair of reports with whether they report one event."""
    for a, b in combinations(reports, 2):
        yield a, b, a.event == b.event


@dataclass(frozen=True)
class ContestPair:
    first: EventSignature
    second: EventSignature
    same: bool
    lang: str
    part: str = "dev"
    titles: tuple[str, str] = ("", "")


def load_contest(part: str | None = None, folder: Path = CONTEST_DIR) -> list[ContestPair]:
    """The contest's labelled pairs (OK = same thread) of one half, or all; [] when absent."""
    return [p for p in _read_contest(folder) if part is None or p.part == part]


def contest_parts(url_pairs: list[tuple[str, str]]) -> list[str]:
    """The half ("dev" or "test") of each pair: pairs sharing an article go together.

    The group's half is decided by a hash of its first URL (the smallest)."""
    groups = linked_groups(url_pairs)

    def half(url: str) -> str:
        digest = hashlib.blake2b(groups[url].encode(), digest_size=8).digest()
        return "dev" if digest[0] % 2 == 0 else "test"

    return [half(first) for first, _ in url_pairs]


@dataclass(frozen=True)
class ParaphrasePair:
    """Two Russian news headlines with the corpus's class.

    ``paraphrase``: 1 strict paraphrase, 0 loose (the same happening told with
    other details or a later figure, now and then an announcement and its
    result), -1 not a paraphrase (often the same actors or place in another
    happening, or two unrelated headlines).
    """

    id: int
    first: EventSignature
    second: EventSignature
    paraphrase: int
    part: str
    titles: tuple[str, str]


def load_paraphrases(
    part: str | None = None, path: Path = PARAPHRASER_FILE
) -> list[ParaphrasePair]:
    """The headline pairs of one half (``dev``/``test``), or all; [] when the file is absent."""
    if not path.exists():
        return []
    return [p for p in _read_paraphrases(path) if part is None or p.part == part]


def paraphrase_parts(pairs: list[tuple[int, str, str]]) -> list[str]:
    """The half of each (pair id, headline id, headline id): pairs sharing a headline go together.

    The group's half is decided by a hash of its smallest pair id, so it depends
    neither on the labels nor on the order of the file.
    """
    groups = linked_groups((first, second) for _, first, second in pairs)
    smallest: dict[str, int] = {}
    for pair_id, first, _ in pairs:
        group = groups[first]
        smallest[group] = min(smallest.get(group, pair_id), pair_id)

    def half(first: str) -> str:
        digest = hashlib.blake2b(str(smallest[groups[first]]).encode(), digest_size=8).digest()
        return "dev" if digest[0] % 2 == 0 else "test"

    return [half(first) for _, first, _ in pairs]


def _read_paraphrases(path: Path) -> list[ParaphrasePair]:
    # The file declares its encoding as "UTF8", which the XML parser does not know.
    text = path.read_bytes().decode("utf-8")
    if text.startswith("<?xml"):
        text = text.split("?>", 1)[1]
    rows = [
        {value.get("name"): value.text or "" for value in pair}
        for pair in ElementTree.fromstring(text).iter("paraphrase")
    ]
    parts = paraphrase_parts([(int(r["id"]), r["id_1"], r["id_2"]) for r in rows])
    return [
        ParaphrasePair(
            id=int(row["id"]),
            first=signature_of(title=row["text_1"], text="", lang="ru"),
            second=signature_of(title=row["text_2"], text="", lang="ru"),
            paraphrase=int(row["class"]),
            part=part,
            titles=(row["text_1"], row["text_2"]),
        )
        for row, part in zip(rows, parts, strict=True)
    ]


def _read_contest(folder: Path) -> list[ContestPair]:
    csv.field_size_limit(1 << 30)
    rows: list[tuple[str, dict[str, str]]] = []
    for name in CONTEST_FILES:
        path = folder / name
        if not path.exists():
            continue
        lang = name[:2]
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                if row.get("GOLDEN:quality") in ("OK", "BAD"):
                    rows.append((lang, row))
    parts = contest_parts([(r["INPUT:first_url"], r["INPUT:second_url"]) for _, r in rows])
    return [
        ContestPair(
            first=signature_of(
                title=row["INPUT:first_title"],
                text=row["INPUT:first_text"],
                lang=lang,
                url=row["INPUT:first_url"],
            ),
            second=signature_of(
                title=row["INPUT:second_title"],
                text=row["INPUT:second_text"],
                lang=lang,
                url=row["INPUT:second_url"],
            ),
            same=row["GOLDEN:quality"] == "OK",
            lang=lang,
            part=part,
            titles=(row["INPUT:first_title"], row["INPUT:second_title"]),
        )
        for (lang, row), part in zip(rows, parts, strict=True)
    ]


def our_texts_frequencies() -> DocumentFrequencies:
    """Document frequencies over all the news texts we wrote, labels unread.

    Shipped as crawler/events/background.json and added to every collection's
    own counts (see ``crawler.events.pairs.background``): the development part
    of the labelled events and of the beat's labelled stories, and the topic's
    older set. The test parts stay out, even unlabelled.
    """
    frequencies = DocumentFrequencies()
    for report in load_reports("dev"):
        frequencies.add(report.signature)
    for path in [*sorted(BEAT_DIR.glob("*.jsonl")), TOPIC_FILE]:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    row = json.loads(line)
                    if row.get("split", "dev") != "dev":
                        continue
                    frequencies.add(
                        signature_of(title=row["title"], text=row["text"], lang=row["lang"])
                    )
    return frequencies


def background_frequencies() -> DocumentFrequencies:
    """What the benchmarks weigh words by: the shipped background plus the contest's texts
    (which the shipped file may not contain: they are not ours)."""
    contest = load_contest()
    return background().plus(
        DocumentFrequencies.of(s for p in contest for s in (p.first, p.second))
    )
