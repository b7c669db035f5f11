"""Precision and recall of a default topic on its labelled stories, per language.

    .venv/bin/python -m bench.matching.topic_quality [--slug SLUG] [--data FILE] [--show]

``--show`` lists every miss and false alarm with its "why" line.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from core.query import Document, Query, analyze_document, parse

ROOT = Path(__file__).resolve().parents[2]
TOPICS_FILE = ROOT / "core" / "data" / "default_topics.yaml"
DEFAULT_DATA = ROOT / "tests" / "data" / "topic_police_liaison.jsonl"
DEFAULT_SLUG = "police-liaison-migration"


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def topic_query(slug: str = DEFAULT_SLUG) -> Query:
    topics = yaml.safe_load(TOPICS_FILE.read_text(encoding="utf-8"))
    for topic in topics:
        if topic["slug"] == slug:
            return parse(topic["query"])
    raise SystemExit(f"no topic {slug!r} in {TOPICS_FILE}")


def load_rows(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def score(query: Query, rows: Iterable[dict[str, object]], show: bool = False) -> dict[str, Score]:
    scores: dict[str, Score] = {}
    for row in rows:
        doc = Document(title=str(row["title"]), text=str(row["text"]))
        result = query.match(analyze_document(doc))
        s = scores.setdefault(str(row["lang"]), Score())
        label = bool(row["label"])
        if result.matched and label:
            s.tp += 1
        elif result.matched:
            s.fp += 1
            if show:
                print(f"FALSE ALARM {row['id']}: {row['title']}\n    why: {result.why}")
        elif label:
            s.fn += 1
            if show:
                print(f"MISS        {row['id']}: {row['title']}")
        else:
            s.tn += 1
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slug", default=DEFAULT_SLUG)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    scores = score(topic_query(args.slug), load_rows(args.data), args.show)
    print(f"{'lang':<6}{'n':>5}{'precision':>11}{'recall':>8}")
    for lang in sorted(scores):
        s = scores[lang]
        n = s.tp + s.fp + s.fn + s.tn
        print(f"{lang:<6}{n:>5}{s.precision:>11.3f}{s.recall:>8.3f}")


if __name__ == "__main__":
    main()
