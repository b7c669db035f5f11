"""Quality gate: article-body scores on the shared benchmark may not fall below the committed floor.

The floor lives in tests/data/extraction_floor.json, a little under the last
measured result; the metric is the benchmark's own (bench/extraction/metric.py).
Skips when the shared corpus is not beside the checkout.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.extraction.corpus import load_pages
from bench.extraction.metric import score_page, summarize
from crawler.extraction import extract_article
from tests.conftest import corpus

FLOOR = Path(__file__).parent / "data" / "extraction_floor.json"


@pytest.mark.slow
def test_benchmark_scores_stay_above_the_floor() -> None:
    pages = load_pages(corpus("article-extraction"))
    floor = json.loads(FLOOR.read_text(encoding="utf-8"))["floor"]
    scores, failures = [], []
    for page in pages:
        result = extract_article(page.html, url=page.url)
        if not result.ok:
            failures.append(f"{page.key[:12]}: {result.error}")
        body = result.article.body if result.article else ""
        scores.append(score_page(page.truth, body))
    summary = summarize(scores)
    measured = {"f1": summary.f1, "precision": summary.precision, "recall": summary.recall}
    below = {k: round(v, 4) for k, v in measured.items() if v < floor[k]}
    assert not below, f"below the floor {floor}: {below} (failed pages: {failures})"
    assert len(failures) <= 1, failures
