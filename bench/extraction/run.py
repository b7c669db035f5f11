"""Article-body quality and speed: wirewatch's extractor against plain trafilatura.

Run: ``.venv/bin/python -m bench.extraction.run [--rounds N] [--worst N] [--json FILE]``

Both extractors see the same page bytes in the same process; quality uses the
benchmark's shingle metric (bench/extraction/metric.py), speed is pages per
second over all pages, the median of several alternating rounds after a
warm-up, so both share the machine's state.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import trafilatura

from bench.extraction.corpus import Page, load_pages
from bench.extraction.metric import PageScore, Summary, exact_match, score_page, summarize
from crawler.extraction import extract_article

Extractor = Callable[[Page], str]


def wirewatch_body(page: Page) -> str:
    result = extract_article(page.html, url=page.url)
    return result.article.body if result.article else ""


def trafilatura_body(page: Page) -> str:
    return trafilatura.extract(page.html) or ""


EXTRACTORS: dict[str, Extractor] = {"wirewatch": wirewatch_body, "trafilatura": trafilatura_body}


def score(pages: list[Page], outputs: list[str]) -> tuple[Summary, list[PageScore]]:
    scores = [score_page(p.truth, out) for p, out in zip(pages, outputs, strict=True)]
    exact = [exact_match(p.truth, out) for p, out in zip(pages, outputs, strict=True)]
    return summarize(scores, exact), scores


def timed_round(extract: Extractor, pages: list[Page]) -> tuple[list[str], float]:
    start = time.perf_counter()
    outputs = [extract(page) for page in pages]
    return outputs, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per extractor")
    parser.add_argument("--worst", type=int, default=0, help="list the N worst pages (ours)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    pages = load_pages()
    for extract in EXTRACTORS.values():  # warm-up: imports, lazy tables, caches
        for page in pages[:5]:
            extract(page)
    durations: dict[str, list[float]] = {name: [] for name in EXTRACTORS}
    outputs: dict[str, list[str]] = {}
    for _ in range(args.rounds):
        for name, extract in EXTRACTORS.items():
            outputs[name], elapsed = timed_round(extract, pages)
            durations[name].append(elapsed)

    report: dict[str, dict[str, float]] = {}
    print(f"{len(pages)} pages, {args.rounds} timed rounds (median)")
    print(f"{'extractor':<12} {'precision':>9} {'recall':>7} {'F1':>7} {'exact':>6} {'pages/s':>8}")
    per_page: dict[str, list[PageScore]] = {}
    for name in EXTRACTORS:
        summary, per_page[name] = score(pages, outputs[name])
        speed = len(pages) / statistics.median(durations[name])
        report[name] = {
            "precision": summary.precision,
            "recall": summary.recall,
            "f1": summary.f1,
            "accuracy": summary.accuracy,
            "pages_per_second": speed,
        }
        print(
            f"{name:<12} {summary.precision:9.4f} {summary.recall:7.4f} {summary.f1:7.4f}"
            f" {summary.accuracy:6.3f} {speed:8.1f}"
        )
    ratio = report["wirewatch"]["pages_per_second"] / report["trafilatura"]["pages_per_second"]
    delta = report["wirewatch"]["f1"] - report["trafilatura"]["f1"]
    print(f"speed ratio wirewatch/trafilatura: {ratio:.2f}  (goal >= 0.50)")
    print(f"F1 difference wirewatch - trafilatura: {delta:+.4f}")
    if args.worst:
        ranked = sorted(zip(per_page["wirewatch"], pages, strict=True), key=lambda x: x[0].f1)
        for page_score, page in ranked[: args.worst]:
            print(
                f"  {page.key[:12]} P={page_score.precision:.3f} R={page_score.recall:.3f}"
                f"  {page.url[:80]}"
            )
    if args.json:
        args.json.write_text(json.dumps({"speed_ratio": ratio, **report}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
