"""The labelled material for same-event grouping, loaded as signatures.

* ``tests/data/events/*.jsonl``: our own reports of events (ru / tg / en,
  Telegram posts beside articles) with near-miss events, split by event into
  ``dev`` (tuning) and ``test`` (reporting only);
* the Telegram clustering contest's labelled pairs in
  ``../shared/corpora/dedup/tgcontest-pairs/`` (read by path; absent → skipped):
  the train pools are development material, the exam and honey pools test.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from pathlib import Path

from crawler.events.pairs import DocumentFrequencies, background
from crawler.events.signature import EventSignature, signature_of

ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = ROOT / "tests" / "data" / "events"
BEAT_DIR = ROOT / "tests" / "data" / "beat"
TOPIC_FILE = ROOT / "tests" / "data" / "topic_police_liaison.jsonl"
CONTEST_DIR = ROOT.parent / "shared" / "corpora" / "dedup" / "tgcontest-pairs"
CONTEST_DEV = ("ru_train_pool.tsv", "en_train_pool.tsv")
CONTEST_TEST = ("ru_exam_pool.tsv", "ru_honey_pool.tsv")


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


def load_contest(files: tuple[str, ...], folder: Path = CONTEST_DIR) -> list[ContestPair]:
    """The contest's labelled pairs (OK = same thread); [] when the corpus is absent."""
    csv.field_size_limit(1 << 30)
    pairs = []
    for name in files:
        path = folder / name
        if not path.exists():
            continue
        lang = name[:2]
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                label = row.get("GOLDEN:quality")
                if label not in ("OK", "BAD"):
                    continue
                pairs.append(
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
                        same=label == "OK",
                        lang=lang,
                    )
                )
    return pairs


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
    contest = load_contest(CONTEST_DEV + CONTEST_TEST)
    return background().plus(
        DocumentFrequencies.of(s for p in contest for s in (p.first, p.second))
    )
