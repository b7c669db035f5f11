"""k-fold cross-validation of the body step's choices on the shared benchmark pages.

Run: ``python -m bench.extraction.cv [--k 5] [--worst N] [--json FILE]``

Every choice the body step makes (trafilatura's mode, the recall guard, the
edge trim and its thresholds, link density, each boilerplate rule group) is a
field of ``BodyConfig``. For each of the k folds the choices are selected on
the other k-1 folds only, by coordinate ascent over those fields starting from
the plain main candidate, and the selected configuration is scored on the
held-out fold. Reported: mean and standard deviation over folds of held-out
F1, the training-fold F1 of the same selections, trafilatura's defaults on the
same folds, and fixed variants (each choice added or removed on its own) with
their held-out figures.

Folds are fixed by page id: pages sorted by key (a SHA-256 digest of the URL)
and dealt round-robin. Each extractor runs once per page; the
configurations only recombine its output.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import trafilatura

from bench.extraction.corpus import Page, load_pages
from bench.extraction.metric import PageScore, score_page, summarize
from bench.extraction.news_pages import load_cases
from crawler.extraction.body import DEFAULT_CONFIG, BodyConfig, Evidence, choose_body
from crawler.extraction.boilerplate import ALL_RULES
from crawler.extraction.extract import _read, _title, page_evidence

K = 5
MIN_GAIN = 0.0005  # a change must raise training F1 by this much to be taken
PLAIN = BodyConfig(
    mode="precision",
    compare=True,
    trim=False,
    drop_title=False,
    drop_head=False,
    max_link_density=None,
    rules=frozenset(),
)
# Link-dense blocks dropped anywhere: (share of link text, blocks in a row).
LINK_LINES = [(0.5, 1), (0.8, 1), (0.8, 2), (0.8, 3)]


def folds_by_id(keys: Sequence[str], k: int = K) -> list[list[int]]:
    """Indexes of each fold: pages sorted by id, dealt round-robin (sizes differ by at most 1)."""
    order = sorted(range(len(keys)), key=lambda i: keys[i])
    return [sorted(order[f::k]) for f in range(k)]


def _with(config: BodyConfig, **changes: Any) -> BodyConfig:
    return replace(config, **changes)


def _with_rule(config: BodyConfig, rule: str, on: bool) -> BodyConfig:
    rules = config.rules | {rule} if on else config.rules - {rule}
    return replace(config, rules=rules)


# Each dimension: a name and the values a configuration can take there.
Dimension = tuple[str, list[Callable[[BodyConfig], BodyConfig]]]
MAINS = [("precision", True), ("precision", False), ("balanced", True), ("balanced", False)]
MAINS += [("vote", True), ("vote", False)]


def dimensions() -> list[Dimension]:
    trims: list[Callable[[BodyConfig], BodyConfig]] = [partial(_with, trim=False)]
    trims += [
        partial(_with, trim=True, min_agreement=a, max_trim_share=s)
        for a in (0.6, 0.8)
        for s in (0.25, 0.5)
    ]
    link_lines: list[Callable[[BodyConfig], BodyConfig]] = [partial(_with, max_link_density=None)]
    link_lines += [partial(_with, max_link_density=d, link_run=r) for d, r in LINK_LINES]
    dims: list[Dimension] = [
        ("main", [partial(_with, mode=m, compare=f) for m, f in MAINS]),
        ("recall_guard", [partial(_with, recall_guard=g) for g in (None, 1.3, 2.0)]),
        ("drop_title", [partial(_with, drop_title=v) for v in (False, True)]),
        ("drop_head", [partial(_with, drop_head=v) for v in (False, True)]),
        ("trim", trims),
        ("jsonld", [partial(_with, jsonld_min_share=v) for v in (None, 0.9, 1.0)]),
        ("link_density", [partial(_with, max_edge_link_density=d) for d in (None, 0.5, 0.8)]),
        ("link_lines", link_lines),
    ]
    for rule in sorted(ALL_RULES):
        dims.append((rule, [partial(_with_rule, rule=rule, on=v) for v in (False, True)]))
    return dims


@dataclass
class Scorer:
    """Per-page scores of any configuration, computed once per (config, page)."""

    pages: list[Page]
    evidence: list[Evidence]
    cache: dict[BodyConfig, list[PageScore]]

    @classmethod
    def build(cls, pages: list[Page]) -> Scorer:
        evidence = []
        for page in pages:
            read = _read(page.html, page.url or None, None)
            assert not isinstance(read, str), read
            evidence.append(page_evidence(read, _title(read.meta, read.jsonld, page.url or None)))
        return cls(pages, evidence, {})

    def scores(self, config: BodyConfig) -> list[PageScore]:
        if config not in self.cache:
            self.cache[config] = [
                score_page(page.truth, body.text if body else "")
                for page, ev in zip(self.pages, self.evidence, strict=True)
                for body in [choose_body(ev, config)]
            ]
        return self.cache[config]

    def f1(self, config: BodyConfig, index: Sequence[int]) -> float:
        scores = self.scores(config)
        return summarize(scores[i] for i in index).f1


def select(scorer: Scorer, train: Sequence[int], start: BodyConfig = PLAIN) -> BodyConfig:
    """Coordinate ascent on training pages: take a value only when it gains MIN_GAIN."""
    config, best = start, scorer.f1(start, train)
    for _ in range(3):
        changed = False
        for _name, values in dimensions():
            for make in values:
                candidate = make(config)
                if candidate == config:
                    continue
                f1 = scorer.f1(candidate, train)
                if f1 > best + MIN_GAIN:
                    config, best, changed = candidate, f1, True
        if not changed:
            break
    return config


def describe(config: BodyConfig) -> str:
    parts = [f"{config.mode}{'' if config.compare else '/fast'}"]
    if config.recall_guard is not None:
        parts.append(f"guard {config.recall_guard}")
    if config.drop_title:
        parts.append("title")
    if config.drop_head:
        parts.append("head")
    if config.trim:
        parts.append(f"trim {config.min_agreement}/{config.max_trim_share}")
    if config.max_edge_link_density is not None:
        parts.append(f"links>{config.max_edge_link_density}")
    if config.max_link_density is not None:
        parts.append(f"link lines>{config.max_link_density} x{config.link_run}")
    if config.jsonld_min_share is not None:
        parts.append(f"jsonld>={config.jsonld_min_share}")
    if config.rules == ALL_RULES:
        parts.append("all rules")
    elif config.rules:
        parts.append("rules " + ",".join(sorted(config.rules)))
    return " + ".join(parts)


@dataclass(frozen=True)
class FoldResult:
    fold: int
    config: BodyConfig
    train_f1: float
    held_out: tuple[float, float, float]  # precision, recall, F1
    baseline_f1: float


def mean_std(values: Sequence[float]) -> str:
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


PREVIOUS = BodyConfig(mode="precision", compare=True, max_link_density=None, drop_head=False)
# The default until the link-list rule replaced its favor_precision pass.
VOTE = replace(DEFAULT_CONFIG, mode="vote", max_link_density=None, drop_head=False)


def variants() -> dict[str, BodyConfig]:
    """Fixed configurations reported beside the selection, each a single change."""
    out = {
        "plain favor_precision": PLAIN,
        "plain favor_precision, no internal fallback": replace(PLAIN, compare=False),
        "plain balanced (trafilatura defaults + hidden markup dropped)": replace(
            PLAIN, mode="balanced"
        ),
        "plain balanced, no internal fallback": replace(PLAIN, mode="balanced", compare=False),
        "plain vote, no internal fallback": replace(PLAIN, mode="vote", compare=False),
        "previous main (favor_precision + fallback), same rules": PREVIOUS,
        "default config": DEFAULT_CONFIG,
        "default without the link-list rule (balanced + trim)": replace(
            DEFAULT_CONFIG, max_link_density=None
        ),
        "default, link lines dropped alone too (run of 1)": replace(DEFAULT_CONFIG, link_run=1),
        "default, link lines in pairs (run of 2)": replace(DEFAULT_CONFIG, link_run=2),
        "previous default: vote (+ favor_precision), no link-list rule": VOTE,
        "default with trafilatura's internal fallback": replace(DEFAULT_CONFIG, compare=True),
        "default without edge trim": replace(DEFAULT_CONFIG, trim=False),
        "default, trim 0.8/0.25": replace(DEFAULT_CONFIG, min_agreement=0.8, max_trim_share=0.25),
        "default without boilerplate rules": replace(DEFAULT_CONFIG, rules=frozenset()),
        "default without title drop": replace(DEFAULT_CONFIG, drop_title=False),
        "default without the header-lines drop": replace(DEFAULT_CONFIG, drop_head=False),
        "default + JSON-LD body when complete (>= 0.9)": replace(
            DEFAULT_CONFIG, jsonld_min_share=0.9
        ),
        "default + link-dense edges dropped (> 0.5)": replace(
            DEFAULT_CONFIG, max_edge_link_density=0.5
        ),
        "previous main + recall guard 1.3": replace(PREVIOUS, recall_guard=1.3),
    }
    for rule in sorted(ALL_RULES):
        out[f"default without {rule}"] = replace(
            DEFAULT_CONFIG, rules=DEFAULT_CONFIG.rules - {rule}
        )
    return out


def news_pages() -> list[Page]:
    """The news pages with an expected body: a second set no choice is made on."""
    return [
        Page(case.name, case.url or "", case.html, case.expected.body)
        for case in load_cases()
        if case.expected is not None and case.expected.body
    ]


def run(pages: list[Page], k: int, worst: int) -> dict[str, object]:
    scorer = Scorer.build(pages)
    news = Scorer.build(news_pages())
    news_baseline = summarize(
        score_page(p.truth, trafilatura.extract(p.html) or "") for p in news.pages
    )
    baseline = [score_page(p.truth, trafilatura.extract(p.html) or "") for p in pages]
    folds = folds_by_id([p.key for p in pages], k)
    fold_index = {i: f for f, fold in enumerate(folds) for i in fold}
    results: list[FoldResult] = []
    held_scores: dict[int, PageScore] = {}
    for f, test in enumerate(folds):
        train = [i for g, fold in enumerate(folds) if g != f for i in fold]
        config = select(scorer, train)
        scores = scorer.scores(config)
        held = summarize(scores[i] for i in test)
        held_scores.update({i: scores[i] for i in test})
        results.append(
            FoldResult(
                f,
                config,
                scorer.f1(config, train),
                (held.precision, held.recall, held.f1),
                summarize(baseline[i] for i in test).f1,
            )
        )
    print(f"{len(pages)} pages, {k} folds by page id: sizes {[len(t) for t in folds]}")
    print(
        f"{'fold':<5} {'train F1':>8} {'held P':>7} {'held R':>7} {'held F1':>7} {'traf F1':>7}  selected"
    )
    for r in results:
        p, rc, f1 = r.held_out
        print(
            f"{r.fold:<5} {r.train_f1:8.4f} {p:7.4f} {rc:7.4f} {f1:7.4f} {r.baseline_f1:7.4f}"
            f"  {describe(r.config)}"
        )
    held_f1 = [r.held_out[2] for r in results]
    train_f1 = [r.train_f1 for r in results]
    base_f1 = [r.baseline_f1 for r in results]
    print(
        f"selected on k-1 folds: held-out F1 {mean_std(held_f1)}, training F1 {mean_std(train_f1)}"
    )
    print(f"trafilatura defaults, same folds: F1 {mean_std(base_f1)}")
    final = select(scorer, range(len(pages)))
    print(f"selected on all pages (what DEFAULT_CONFIG should be): {describe(final)}")
    news_final = summarize(news.scores(final))
    print(
        f"news pages ({len(news.pages)} with an expected body): that selection F1"
        f" {news_final.f1:.4f} (P {news_final.precision:.4f} R {news_final.recall:.4f}),"
        f" trafilatura defaults {news_baseline.f1:.4f}"
    )

    report_variants: dict[str, dict[str, float]] = {}
    print(
        f"\n{'fixed variant':<62} {'held-out F1 (per fold)':>22} {'training F1':>11}"
        f" {'all pages':>9} {'news':>6}"
    )
    for name, config in variants().items():
        per_fold = [scorer.f1(config, test) for test in folds]
        training = [
            scorer.f1(config, [i for g, fold in enumerate(folds) if g != f for i in fold])
            for f in range(len(folds))
        ]
        overall = summarize(scorer.scores(config))
        news_f1 = summarize(news.scores(config)).f1
        report_variants[name] = {
            "news_f1": news_f1,
            "held_out_mean": statistics.mean(per_fold),
            "held_out_std": statistics.stdev(per_fold),
            "training_mean": statistics.mean(training),
            "precision": overall.precision,
            "recall": overall.recall,
            "f1": overall.f1,
        }
        print(
            f"{name:<62} {mean_std(per_fold):>22} {statistics.mean(training):11.4f}"
            f" {overall.f1:9.4f} {news_f1:6.4f}"
        )
    if worst:
        print("\nworst held-out pages of the selection procedure (P, R; trafilatura defaults F1):")
        ranked = sorted(held_scores.items(), key=lambda item: item[1].f1)[:worst]
        for i, s in ranked:
            print(
                f"  fold {fold_index[i]} {pages[i].key[:12]} P={s.precision:.3f}"
                f" R={s.recall:.3f} ({baseline[i].f1:.3f})  {pages[i].url[:70]}"
            )
    return {
        "k": k,
        "held_out_f1": held_f1,
        "training_f1": train_f1,
        "trafilatura_defaults_f1": base_f1,
        "selected": [describe(r.config) for r in results],
        "selected_on_all_pages": describe(final),
        "news_f1": news_final.f1,
        "news_trafilatura_defaults_f1": news_baseline.f1,
        "variants": report_variants,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=K)
    parser.add_argument("--worst", type=int, default=0, help="list the N worst held-out pages")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    report = run(load_pages(), args.k, args.worst)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
