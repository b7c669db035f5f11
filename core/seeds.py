"""A topic's seed examples: labelled stories shipped with it, to train its relevance model.

``data/seeds/<slug>.jsonl`` holds one story per line (keys ``id``, ``lang``,
``title``, ``text``, ``label``; ``row`` optional). The default topic's file is
written by ``python -m bench.matching.seeds`` from the development half of the
beat set and the older labelled set, never from the held-out half. A topic
without a file starts with no examples: its readers' judgments are its only
training data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parent / "data" / "seeds"


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled story: its text and whether it belongs to the topic."""

    title: str
    text: str
    relevant: bool
    lang: str | None = None
    id: str = ""


def seeds_path(slug: str, directory: Path = SEEDS_DIR) -> Path:
    return directory / f"{slug}.jsonl"


@lru_cache(maxsize=64)
def seed_examples(slug: str, directory: Path = SEEDS_DIR) -> tuple[Example, ...]:
    """The topic's shipped examples, or none; read once per process."""
    path = seeds_path(slug, directory)
    if not path.is_file():
        return ()
    examples = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            examples.append(
                Example(
                    title=str(row.get("title") or ""),
                    text=str(row.get("text") or ""),
                    relevant=bool(row["label"]),
                    lang=row.get("lang"),
                    id=str(row.get("id") or ""),
                )
            )
    return tuple(examples)
