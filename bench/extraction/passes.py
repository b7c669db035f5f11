"""What each extraction pass costs and what it buys on pages it was not chosen on.

Run: ``python -m bench.extraction.passes [--k 5] [--rounds 2]``

The body step can run up to three extractors per page: trafilatura's balanced
output, its favor_precision output (each with or without trafilatura's own
readability/jusText comparison) and the readability fork. Each is timed on
every shared page (best of ``--rounds``), as are the common work (decoding,
parsing, metadata, hidden markup, the page's link texts) and ``trafilatura.extract`` with its
defaults, in the same run. A configuration's speed is the common work plus the
passes it reads plus its own combination step; its quality is held-out F1 over
the same fixed folds as ``bench.extraction.cv`` (no choice is made here: every
configuration is fixed, so every fold is held out).

A pass earns its place only if the configuration that reads it scores higher
held-out F1 than the same configuration without it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import trafilatura

from bench.extraction.corpus import Page, load_pages
from bench.extraction.cv import K, Scorer, folds_by_id, news_pages
from bench.extraction.metric import score_page, summarize
from crawler.extraction.body import DEFAULT_CONFIG, BodyConfig, Evidence, choose_body
from crawler.extraction.extract import _read, _title, page_evidence

PASSES = [("balanced", False), ("precision", False), ("balanced", True), ("precision", True)]


def _best(fn: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


@dataclass
class Costs:
    common: list[float]
    passes: dict[str, list[float]]
    baseline: list[float]


def measure(pages: list[Page], rounds: int) -> tuple[Costs, list[Evidence]]:
    costs = Costs([], {f"{m}/{'cmp' if c else 'fast'}": [] for m, c in PASSES}, [])
    costs.passes["readability"] = []
    evidence: list[Evidence] = []
    for page in pages:
        url = page.url or None

        def common(page: Page = page, url: str | None = url) -> Evidence:
            read = _read(page.html, url, None)
            assert not isinstance(read, str), read
            ev = page_evidence(read, _title(read.meta, read.jsonld, url))
            # Every extraction collects the page's link texts for its link-list check.
            _ = ev.anchors
            return ev

        costs.common.append(_best(common, rounds))
        ev = common()
        for mode, compare in PASSES:
            key = f"{mode}/{'cmp' if compare else 'fast'}"

            def one(ev: Evidence = ev, mode: str = mode, compare: bool = compare) -> None:
                ev._runs.pop((mode, compare), None)
                ev.run(mode, compare)

            costs.passes[key].append(_best(one, rounds))

        def reference(ev: Evidence = ev) -> None:
            ev._reference = None
            _ = ev.reference

        costs.passes["readability"].append(_best(reference, rounds))

        def baseline(page: Page = page) -> None:
            trafilatura.extract(page.html)

        costs.baseline.append(_best(baseline, rounds))
        evidence.append(ev)
    return costs, evidence


def passes_of(config: BodyConfig) -> list[str]:
    flag = "cmp" if config.compare else "fast"
    used = {"vote": ["balanced", "precision"]}.get(config.mode, [config.mode])
    if config.recall_guard is not None and config.mode == "precision":
        used.append("balanced")
    out = [f"{m}/{flag}" for m in used]
    return [*out, "readability"] if config.needs_reference else out


def configurations() -> dict[str, BodyConfig]:
    fast = replace(DEFAULT_CONFIG, mode="balanced", trim=False, max_link_density=None)
    vote = replace(fast, mode="vote", trim=True)
    return {
        "fast path: balanced, title, rules (1 pass)": fast,
        "balanced + trim (adds readability)": replace(fast, trim=True),
        "balanced + trim + link-list rule: DEFAULT_CONFIG": DEFAULT_CONFIG,
        "precision, title, rules (1 pass)": replace(fast, mode="precision"),
        "precision + trim (adds readability)": replace(fast, mode="precision", trim=True),
        "vote, no trim (balanced + precision + readability)": replace(vote, trim=False),
        "vote + trim (the previous default)": vote,
        "vote + trim + trafilatura's internal comparison": replace(vote, compare=True),
        "precision with comparison + trim (the one before)": replace(
            fast, mode="precision", compare=True, trim=True
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=K)
    parser.add_argument("--rounds", type=int, default=2, help="timings: best of this many")
    args = parser.parse_args(argv)
    pages = load_pages()
    costs, evidence = measure(pages, args.rounds)
    scorer = Scorer(pages, evidence, {})
    news = Scorer.build(news_pages())
    folds = folds_by_id([p.key for p in pages], args.k)
    base_scores = [score_page(p.truth, trafilatura.extract(p.html) or "") for p in pages]
    base_folds = [summarize(base_scores[i] for i in fold).f1 for fold in folds]
    base_time = sum(costs.baseline)
    print(f"{len(pages)} pages, {args.k} fixed folds; timings best of {args.rounds}")
    print("seconds per page (mean): common work", f"{statistics.mean(costs.common):.3f},")
    for key, values in costs.passes.items():
        print(f"  pass {key:<16} {statistics.mean(values):.3f}")
    print(
        f"\n{'configuration':<52} {'held-out F1':>16} {'news F1':>7} {'pages/s':>7} {'x traf':>6}"
    )
    print(
        f"{'trafilatura.extract defaults':<52} {_mean_std(base_folds):>16} {'':>7}"
        f" {len(pages) / base_time:7.1f} {1.0:6.2f}"
    )
    for name, config in configurations().items():
        combine = 0.0
        for ev in evidence:
            started = time.perf_counter()
            choose_body(ev, config)
            combine += time.perf_counter() - started
        total = sum(costs.common) + combine + sum(sum(costs.passes[p]) for p in passes_of(config))
        held = [scorer.f1(config, fold) for fold in folds]
        news_f1 = summarize(news.scores(config)).f1
        print(
            f"{name:<52} {_mean_std(held):>16} {news_f1:7.4f} {len(pages) / total:7.1f}"
            f" {base_time / total:6.2f}"
        )
    return 0


def _mean_std(values: list[float]) -> str:
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


if __name__ == "__main__":
    raise SystemExit(main())
