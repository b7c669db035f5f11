"""Precision and recall of a default topic on its labelled stories, per language.

    .venv/bin/python -m bench.matching.topic_quality [--slug SLUG] [--data FILE ...]
        [--beat] [--split dev|test|all] [--rows] [--show]

``--data`` takes one or more JSONL files (keys ``id``, ``lang``, ``title``,
``text``, ``label``; optionally ``row`` and ``split``); ``--beat`` adds
``tests/data/beat/*.jsonl``. Without either, the older set
``tests/data/topic_police_liaison.jsonl`` is scored.

``--split`` keeps only stories of that split (stories without a ``split`` key
count only for ``all``). Tune on ``dev``; score ``test`` only to report it.

The summary has one line per file and language, then a total per language
over all files. ``--rows`` adds precision and recall per file, language and
``row`` (the beat's sub-topic; for negatives the row they are a near miss of).
``--show`` lists every miss and false alarm with its "why" line.

The output depends only on the data and the query: files are listed in the
order given, languages and rows sorted.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from core.query import Document, Query, analyze_document, parse

ROOT = Path(__file__).resolve().parents[2]
TOPICS_FILE = ROOT / "core" / "data" / "default_topics.yaml"
DEFAULT_DATA = ROOT / "tests" / "data" / "topic_police_liaison.jsonl"
BEAT_DIR = ROOT / "tests" / "data" / "beat"
DEFAULT_SLUG = "police-liaison-migration"
SPLITS = ("dev", "test", "all")

Row = dict[str, object]


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def add(self, matched: bool, label: bool) -> None:
        if matched and label:
            self.tp += 1
        elif matched:
            self.fp += 1
        elif label:
            self.fn += 1
        else:
            self.tn += 1


def topic_query(slug: str = DEFAULT_SLUG) -> Query:
    topics = yaml.safe_load(TOPICS_FILE.read_text(encoding="utf-8"))
    for topic in topics:
        if topic["slug"] == slug:
            return parse(topic["query"])
    raise SystemExit(f"no topic {slug!r} in {TOPICS_FILE}")


def load_rows(path: Path) -> list[Row]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def beat_files() -> list[Path]:
    return sorted(BEAT_DIR.glob("*.jsonl"))


def in_split(row: Row, split: str) -> bool:
    return split == "all" or row.get("split") == split


def judge(query: Query, rows: Iterable[Row], show: bool = False) -> list[tuple[Row, bool]]:
    """Each story with whether the query matched it."""
    judged = []
    for row in rows:
        doc = Document(title=str(row["title"]), text=str(row["text"]))
        result = query.match(analyze_document(doc))
        label = bool(row["label"])
        if show and result.matched and not label:
            print(f"FALSE ALARM {row['id']}: {row['title']}\n    why: {result.why}")
        elif show and label and not result.matched:
            print(f"MISS        {row['id']}: {row['title']}")
        judged.append((row, result.matched))
    return judged


def tally(judged: Iterable[tuple[Row, bool]], key: Callable[[Row], str]) -> dict[str, Score]:
    scores: dict[str, Score] = {}
    for row, matched in judged:
        scores.setdefault(key(row), Score()).add(matched, bool(row["label"]))
    return scores


def score(query: Query, rows: Iterable[Row], show: bool = False) -> dict[str, Score]:
    """Scores per language."""
    return tally(judge(query, rows, show), lambda row: str(row["lang"]))


def _line(name: str, s: Score) -> str:
    return (
        f"{name:<34}{s.n:>5}{s.positives:>5}{s.tp:>5}{s.fp:>5}{s.fn:>5}"
        f"{s.precision:>11.3f}{s.recall:>8.3f}"
    )


HEADER = f"{'':<34}{'n':>5}{'pos':>5}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>8}"


def report(
    query: Query, files: Sequence[Path], split: str, rows_table: bool, show: bool
) -> list[str]:
    lines = [f"split: {split}", HEADER]
    per_file: list[tuple[str, list[tuple[Row, bool]]]] = []
    for path in files:
        rows = [row for row in load_rows(path) if in_split(row, split)]
        name = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
        per_file.append((name, judge(query, rows, show)))
    everything = [item for _, judged in per_file for item in judged]
    for name, judged in per_file:
        for lang, s in sorted(tally(judged, lambda row: str(row["lang"])).items()):
            lines.append(_line(f"{name} {lang}", s))
    if len(per_file) > 1:
        for lang, s in sorted(tally(everything, lambda row: str(row["lang"])).items()):
            lines.append(_line(f"all files {lang}", s))
    if rows_table:
        lines.append("")
        lines.append("per row (negatives are counted under the row they are a near miss of)")
        lines.append(HEADER)
        for name, judged in per_file:
            by_row = tally(judged, lambda row: f"{row['lang']} {row.get('row', '-')}")
            stem = Path(name).stem
            for key, s in sorted(by_row.items()):
                lines.append(_line(key if key.startswith(stem + " ") else f"{stem}: {key}", s))
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--slug", default=DEFAULT_SLUG)
    parser.add_argument("--data", type=Path, nargs="+", default=[])
    parser.add_argument("--beat", action="store_true", help="add tests/data/beat/*.jsonl")
    parser.add_argument("--split", choices=SPLITS, default="all")
    parser.add_argument("--rows", action="store_true", help="precision and recall per row")
    parser.add_argument("--show", action="store_true", help="list misses and false alarms")
    args = parser.parse_args(argv)
    files = [path.resolve() for path in args.data] + (beat_files() if args.beat else [])
    if not files:
        files = [DEFAULT_DATA]
    for line in report(topic_query(args.slug), files, args.split, args.rows, args.show):
        print(line)


if __name__ == "__main__":
    main()
