"""Readers for the labelled dedup material in ``../shared/corpora`` (beside the checkout).

Each reader returns plain records; nothing here decides what is a duplicate.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from defusedxml import ElementTree

CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
DEDUP = CORPORA / "dedup"
CONTEST_POOLS = ("ru_honey_pool", "ru_exam_pool", "ru_train_pool", "en_train_pool")
# Extractor outputs that are whole-page text, not an article body.
NOISY_VARIANTS = frozenset({"html-text"})


class CorpusMissingError(FileNotFoundError):
    """The shared corpora are not beside this checkout."""


def _require(path: Path) -> Path:
    if not path.exists():
        raise CorpusMissingError(f"corpus file {path} not found (expected ../shared/corpora)")
    return path


def ground_truth_path() -> Path:
    return _require(CORPORA / "article-extraction" / "ground-truth.json")


def contest_folder() -> Path:
    return _require(DEDUP / "tgcontest-pairs")


@dataclass(frozen=True)
class Text:
    id: str
    title: str
    text: str
    url: str = ""
    label: str = ""


@dataclass(frozen=True)
class ContestItem:
    pool: str
    row: int
    side: str
    title: str
    text: str
    url: str


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    same: bool
    detail: str = ""


def _contest_rows(folder: Path) -> Iterator[tuple[str, int, dict[str, str]]]:
    csv.field_size_limit(sys.maxsize)
    for pool in CONTEST_POOLS:
        path = _require(folder / f"{pool}.tsv")
        with path.open(encoding="utf-8", newline="") as handle:
            for row_number, row in enumerate(csv.DictReader(handle, delimiter="\t")):
                yield pool, row_number, row


def contest_items(folder: Path, *, one_per_thread: bool = False) -> Iterator[ContestItem]:
    """Both items of every pair (only the first of an OK pair with ``one_per_thread``)."""
    for pool, row_number, row in _contest_rows(folder):
        sides = ("first",) if one_per_thread and row["GOLDEN:quality"] == "OK" else ()
        for side in sides or ("first", "second"):
            yield ContestItem(
                pool,
                row_number,
                side,
                row[f"INPUT:{side}_title"],
                row[f"INPUT:{side}_text"],
                row[f"INPUT:{side}_url"],
            )


def contest_pairs(folder: Path | None = None) -> tuple[list[Text], list[Pair]]:
    """Items keyed by URL (the same article appears in several pairs) and the labelled pairs."""
    texts: dict[str, Text] = {}
    pairs = []
    for _pool, _row, row in _contest_rows(folder or contest_folder()):
        ids = []
        for side in ("first", "second"):
            url = row[f"INPUT:{side}_url"]
            key = url or f"{row[f'INPUT:{side}_title']}|{row[f'INPUT:{side}_text'][:80]}"
            texts.setdefault(
                key, Text(key, row[f"INPUT:{side}_title"], row[f"INPUT:{side}_text"], url)
            )
            ids.append(key)
        if ids[0] != ids[1]:
            pairs.append(Pair(ids[0], ids[1], row["GOLDEN:quality"] == "OK"))
    return list(texts.values()), pairs


def paraphraser_pairs() -> tuple[list[Text], list[Pair]]:
    """Headlines (title only) and pairs labelled strict (1), loose (0) or not (-1) paraphrase."""
    path = _require(DEDUP / "paraphraser-ru" / "paraphrases.xml")
    # The declaration says encoding='UTF8', which expat does not know: decode here.
    raw = path.read_text(encoding="utf-8")
    root = ElementTree.fromstring(raw[raw.index("?>") + 2 :] if raw.startswith("<?xml") else raw)
    texts: dict[str, Text] = {}
    pairs = []
    for node in root.iter("paraphrase"):
        values = {v.get("name"): (v.text or "") for v in node.iter("value")}
        for side in ("1", "2"):
            key = values[f"id_{side}"]
            texts.setdefault(key, Text(key, values[f"text_{side}"], ""))
        cls = values["class"]
        pairs.append(Pair(values["id_1"], values["id_2"], cls == "1", detail=cls))
    return list(texts.values()), pairs


def lee_documents() -> tuple[list[Text], dict[tuple[str, str], float]]:
    """50 distinct ABC news stories and the human similarity of every pair (0..1)."""
    folder = DEDUP / "lee-news-similarity"
    raw = _require(folder / "lee.cor").read_bytes().decode("utf-8", errors="replace")
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    docs = [Text(f"lee{i}", "", line, label=f"lee{i}") for i, line in enumerate(lines)]
    matrix = _require(folder / "similarities0-1.txt").read_text(encoding="utf-8").splitlines()
    scores: dict[tuple[str, str], float] = {}
    for i, row in enumerate(matrix):
        for j, cell in enumerate(row.split("\t")):
            if j > i and cell.strip():
                scores[(f"lee{i}", f"lee{j}")] = float(cell)
    return docs, scores


def aeb_variants(*, include_noisy: bool) -> list[Text]:
    """Nine extractions of each of 91 pages; the label is the page."""
    path = _require(DEDUP / "aeb-extractor-variants-dev" / "variants.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    texts = []
    for key, entry in sorted(data.items()):
        for tool, text in sorted(entry["variants"].items()):
            if not include_noisy and tool in NOISY_VARIANTS:
                continue
            texts.append(Text(f"{key[:12]}:{tool}", "", text or "", entry["url"], key))
    return texts
