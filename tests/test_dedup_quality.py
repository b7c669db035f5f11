"""Cluster quality on labelled real material stays above the committed floors.

Runs the quick subset of ``bench.dedup.quality`` (the production database
path). Floors live in tests/data/dedup_floor.json; the full report with all
sets is ``python -m bench.dedup.quality``.
"""

from __future__ import annotations

import json

import pytest

from bench.dedup import quality
from bench.dedup.quality import SetResult
from tests.conftest import ROOT, corpus

# The module's one fixture clusters every set through the database path (about
# 100 s on an idle 2-core machine); the suite-wide limit is for hangs, not for this.
pytestmark = pytest.mark.timeout(900)

FLOORS = json.loads((ROOT / "tests" / "data" / "dedup_floor.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def results() -> dict[str, SetResult]:
    corpus("dedup")
    corpus("article-extraction", "ground-truth.json")
    return {r.name: r for r in quality.run(quick=True)}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(k for k in FLOORS if not k.startswith("_")))
def test_quality_floor(results: dict[str, SetResult], name: str) -> None:
    result = results[name]
    floor = FLOORS[name]
    assert result.precision >= floor["precision"], f"{name}: {result}"
    assert result.recall >= floor["recall"], f"{name}: {result}"


def test_every_measured_set_has_a_floor(results: dict[str, SetResult]) -> None:
    assert set(results) == {k for k in FLOORS if not k.startswith("_")}
