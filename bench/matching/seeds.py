"""Write the default topic's seed examples: the beat's development half plus the older set.

    .venv/bin/python -m bench.matching.seeds [--check]

The relevance model of ``police-liaison-migration`` (alerts/relevance.py)
trains on ``core/data/seeds/police-liaison-migration.jsonl``, which the
installed package carries. It is made here, from the stories of
``tests/data/beat/*.jsonl`` with ``split == "dev"`` and every story of
``tests/data/topic_police_liaison.jsonl``; the held-out ``test`` half never
goes in, so the model can be scored on it. ``--check`` only says whether the
file is current (exit 1 if not).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.matching.topic_quality import DEFAULT_DATA, DEFAULT_SLUG, beat_files, load_rows
from core.seeds import seeds_path

KEYS = ("id", "lang", "row", "title", "text", "label")


def seed_rows() -> list[dict[str, object]]:
    rows = [row for path in beat_files() for row in load_rows(path) if row["split"] == "dev"]
    rows += load_rows(DEFAULT_DATA)
    return [{key: row[key] for key in KEYS if key in row} for row in rows]


def render() -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in seed_rows())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    path: Path = seeds_path(DEFAULT_SLUG)
    text = render()
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            sys.exit(f"{path} is stale: python -m bench.matching.seeds")
        print(f"{path} is current")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {len(text.splitlines())} examples to {path}")


if __name__ == "__main__":
    main()
