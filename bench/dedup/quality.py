"""Pairwise precision and recall of story clusters on labelled real material.

Every set is clustered through the production path (``OfflineClusterer``: a
migrated SQLite database and ``NearDuplicateIndex``), then scored over pairs:
a pair is predicted "same" when both stories landed in one cluster.

Sets, and what they test:

* ``derived-en``, ``derived-contest`` — syndicated copies made by
  ``derive.py`` from real articles (headline rewritten, paragraph cut or
  added, boilerplate, typos). Copies and light rewrites: the 0.98 / 0.95 goal.
* ``…+lead`` — the same plus reprints cut to their first paragraphs.
* ``…+served`` — the same plus a feed teaser (headline, the first 20-60
  words, "… read more") and a whole-page copy (the outlet's navigation,
  "read also" headlines and fixed site lines around the article).
* ``aeb-usable`` — the article-extraction benchmark's 8 article extractors on
  91 pages, counting only extractions that got the article (at least half of
  the true body's shingles, at least half of their own from it). ``aeb-all``
  counts failed extractions too; ``aeb+html-text`` adds whole-page text.
* ``tgcontest`` — same news thread or not, different outlets' own texts:
  same event, different text. Recall is expected to be low; precision is what
  matters (different threads must stay apart).
* ``paraphraser`` — headline pairs only: class 1/0 (same event) vs -1 (not).
* ``lee`` — 50 distinct ABC stories: any merge is a false positive.

Development and test parts (``--split dev`` / ``--split test``; ``both`` runs
each): every set is cut by story, never by pair, with ``split_of``: a
SHA-256 of the story's key decides, where the key is the original article
(derived sets), the page (aeb), the Lee document, or, for the pair sets, the
smallest id of the group of items linked by labelled pairs (an item in several
pairs stays on one side). Each part is clustered on its own, so no test story
can bridge two dev stories. Rules and thresholds are chosen on ``dev`` only.

Usage: ``python -m bench.dedup.quality [--quick] [--split all|dev|test|both] [--json]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from bench.dedup import corpora, derive
from bench.groups import linked_groups
from crawler.dedup.minhash import shingle_set
from crawler.dedup.offline import InputStory, OfflineClusterer
from crawler.dedup.similarity import compare

# The quick run (used by the test) scores this many paraphraser pairs.
QUICK_PARAPHRASER_PAIRS = 800
SPLITS = ("dev", "test")


def split_of(key: str) -> str:
    """The part a story (by its key: article, page or pair group) belongs to; fixed forever."""
    digest = hashlib.sha256(f"dedup-split:{key}".encode()).digest()
    return "dev" if digest[0] % 2 == 0 else "test"


def _in_split(key: str, split: str | None) -> bool:
    return split is None or split_of(key) == split


def pair_groups(pairs: Iterable[corpora.Pair]) -> dict[str, str]:
    """Each item's group key: the smallest id among the items linked to it by pairs."""
    return linked_groups((pair.first, pair.second) for pair in pairs)


def _pairs_in_split(pairs: list[corpora.Pair], split: str | None) -> list[corpora.Pair]:
    if split is None:
        return pairs
    groups = pair_groups(pairs)
    return [p for p in pairs if split_of(groups[p.first]) == split]


@dataclass(frozen=True)
class SetResult:
    name: str
    goal: str  # "copies", "same-event" or "apart"
    stories: int
    tp: int
    fp: int
    fn: int
    seconds: float
    note: str = ""

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(precision=round(self.precision, 4), recall=round(self.recall, 4))
        return data


def cluster(stories: Sequence[InputStory]) -> dict[Any, int]:
    with OfflineClusterer() as clusterer:
        clusterer.add_all(stories)
        return {p.id: p.cluster for p in clusterer.results()}


def score_labels(
    name: str,
    goal: str,
    stories: Sequence[InputStory],
    labels: dict[Any, str],
    *,
    counted: Callable[[Any], bool] = lambda _id: True,
    note: str = "",
) -> SetResult:
    """Pairwise scores over stories with a true label (only pairs of ``counted`` stories)."""
    start = time.perf_counter()
    clusters = cluster(stories)
    ids = [s.id for s in stories if counted(s.id)]
    same_label = Counter(labels[i] for i in ids)
    same_cluster = Counter(clusters[i] for i in ids)
    both = Counter((labels[i], clusters[i]) for i in ids)
    tp = _pairs(both.values())
    predicted = _pairs(same_cluster.values())
    actual = _pairs(same_label.values())
    seconds = time.perf_counter() - start
    return SetResult(name, goal, len(stories), tp, predicted - tp, actual - tp, seconds, note)


def score_pairs(
    name: str,
    goal: str,
    stories: Sequence[InputStory],
    pairs: Iterable[corpora.Pair],
    note: str = "",
) -> SetResult:
    start = time.perf_counter()
    clusters = cluster(stories)
    tp = fp = fn = 0
    for pair in pairs:
        together = clusters[pair.first] == clusters[pair.second]
        tp += together and pair.same
        fp += together and not pair.same
        fn += pair.same and not together
    seconds = time.perf_counter() - start
    return SetResult(name, goal, len(stories), tp, fp, fn, seconds, note)


def _pairs(sizes: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def _published(value: str) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def derived_sets(
    seed: int = derive.DEFAULT_SEED, *, quick: bool = False, split: str | None = None
) -> list[SetResult]:
    results = []
    # Name suffix and the copy kinds it adds to the originals and light copies.
    variants = [("", ()), ("+lead", ("lead",)), ("+served", ("teaser", "wrapped"))]
    for name, rows in derive.iter_sets(seed, derive.DEFAULT_COPIES, with_served=True):
        short = "contest" if name.endswith("ru") else "en"
        for suffix, extra in [variants[0], variants[2]] if quick else variants:
            kinds = {"original", "light", *extra}
            kept = [r for r in rows if r.kind in kinds and _in_split(r.label, split)]
            stories = [
                InputStory(r.id, r.title, r.text, r.url, r.source, _published(r.published))
                for r in kept
            ]
            labels = {r.id: r.label for r in kept}
            families = len(set(labels.values()))
            results.append(
                score_labels(
                    f"derived-{short}{suffix}",
                    "copies",
                    stories,
                    labels,
                    note=f"{families} articles, copies per article: {len(kept) / families - 1:.1f}",
                )
            )
    return results


def aeb_sets(*, quick: bool = False, split: str | None = None) -> list[SetResult]:
    truth = json.loads(corpora.ground_truth_path().read_text(encoding="utf-8"))
    texts = [t for t in corpora.aeb_variants(include_noisy=True) if _in_split(t.label, split)]
    usable = {t.id for t in texts if _extracted_the_article(t.text, truth[t.label]["articleBody"])}
    labels = {t.id: t.label for t in texts}
    article_tools = [t for t in texts if t.id.split(":", 1)[1] not in corpora.NOISY_VARIANTS]
    # No URLs: all variants come from one page, and the URL layer would merge them trivially.
    stories = [InputStory(t.id, t.title, t.text) for t in article_tools]
    with_noisy = [InputStory(t.id, t.title, t.text) for t in texts]
    ok = sum(1 for t in article_tools if t.id in usable)
    results = [
        score_labels(
            "aeb-usable",
            "copies",
            stories,
            labels,
            counted=usable.__contains__,
            note=f"{ok} of {len(article_tools)} extractions got the article",
        )
    ]
    if not quick:
        results.append(
            score_labels("aeb-all", "copies", stories, labels, note="failed extractions included")
        )
        results.append(
            score_labels(
                "aeb+html-text", "copies", with_noisy, labels, note="whole-page text added"
            )
        )
    return results


def _extracted_the_article(text: str, body: str) -> bool:
    result = compare(shingle_set("", text), shingle_set("", body))
    if result.smaller == 0:
        return False
    shared = result.containment * result.smaller
    return shared / len(shingle_set("", body)) >= 0.5 and shared / len(shingle_set("", text)) >= 0.5


def contest_set(split: str | None = None) -> SetResult:
    texts, pairs = corpora.contest_pairs()
    pairs = _pairs_in_split(pairs, split)
    wanted = {i for p in pairs for i in (p.first, p.second)}
    texts = [t for t in texts if t.id in wanted]
    stories = [InputStory(t.id, t.title, t.text, t.url or None) for t in texts]
    same = sum(p.same for p in pairs)
    note = f"{same} same-thread and {len(pairs) - same} different-thread pairs"
    return score_pairs("tgcontest", "same-event", stories, pairs, note)


def paraphraser_set(limit: int | None = None, split: str | None = None) -> SetResult:
    texts, pairs = corpora.paraphraser_pairs()
    if limit is not None:
        pairs = pairs[:limit]
    pairs = _pairs_in_split(pairs, split)
    wanted = {i for p in pairs for i in (p.first, p.second)}
    texts = [t for t in texts if t.id in wanted]
    stories = [InputStory(t.id, t.title, t.text) for t in texts]
    # Same event = strict (1) or loose (0) paraphrase; precision counts merges of class -1.
    same_event = [corpora.Pair(p.first, p.second, p.detail != "-1", p.detail) for p in pairs]
    classes = Counter(p.detail for p in pairs)
    note = "headlines only; pairs by class " + ", ".join(
        f"{k}: {v}" for k, v in sorted(classes.items())
    )
    return score_pairs("paraphraser", "same-event", stories, same_event, note)


def lee_set(split: str | None = None) -> SetResult:
    docs, _scores = corpora.lee_documents()
    docs = [d for d in docs if _in_split(d.label, split)]
    stories = [InputStory(d.id, d.title, d.text) for d in docs]
    labels = {d.id: d.label for d in docs}
    return score_labels("lee", "apart", stories, labels, note=f"{len(docs)} distinct stories")


def run(quick: bool = False, split: str | None = None) -> list[SetResult]:
    """Every set (``split``: only its dev or test part, clustered on its own)."""
    results = derived_sets(quick=quick, split=split)
    results += aeb_sets(quick=quick, split=split)
    results.append(contest_set(split))
    results.append(paraphraser_set(QUICK_PARAPHRASER_PAIRS if quick else None, split))
    results.append(lee_set(split))
    if split is not None:
        results = [replace(r, name=f"{r.name}/{split}") for r in results]
    return results


def format_table(results: Sequence[SetResult]) -> str:
    header = (
        f"{'set':28} {'goal':10} {'stories':>7} {'P':>6} {'R':>6} {'TP':>6} {'FP':>5} {'FN':>6}"
        f" {'s':>5}  note"
    )
    lines = [header]
    for r in results:
        lines.append(
            f"{r.name:28} {r.goal:10} {r.stories:7d} {r.precision:6.3f} {r.recall:6.3f}"
            f" {r.tp:6d} {r.fp:5d} {r.fn:6d} {r.seconds:5.1f}  {r.note}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Dedup cluster quality on labelled sets.")
    parser.add_argument("--quick", action="store_true", help="the subset the test runs")
    parser.add_argument(
        "--split",
        choices=("all", "dev", "test", "both"),
        default="all",
        help="score whole sets (all), one part, or each part in turn (both)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    choices: dict[str, list[str | None]] = {"all": [None], "both": [*SPLITS]}
    splits = choices.get(args.split, [args.split])
    results = [r for split in splits for r in run(quick=args.quick, split=split)]
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2, ensure_ascii=False))
    else:
        print(format_table(results))


if __name__ == "__main__":
    main()
