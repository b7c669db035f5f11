"""Loading the shared article-extraction benchmark (DEV half) from beside the checkout."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCHMARK = ROOT.parent / "shared" / "corpora" / "article-extraction"


@dataclass(frozen=True)
class Page:
    key: str
    url: str
    html: bytes
    truth: str


def load_pages(directory: Path = BENCHMARK) -> list[Page]:
    """All pages with their ground truth; raises FileNotFoundError naming the missing path."""
    truth_file = directory / "ground-truth.json"
    if not truth_file.exists():
        raise FileNotFoundError(f"benchmark ground truth not found: {truth_file}")
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth):
        raw = gzip.decompress((directory / "html" / f"{key}.html.gz").read_bytes())
        pages.append(Page(key, truth[key].get("url", ""), raw, truth[key].get("articleBody", "")))
    return pages
