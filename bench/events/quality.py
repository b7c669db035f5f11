"""Same-event grouping quality: pairwise precision and recall, dev and test parts.

    .venv/bin/python -m bench.events.quality [--split dev|test|all] [--threshold P]

Groups every report of the labelled events in time order, exactly as the
database index does, then counts pairs: a pair is "grouped" when both reports
land in one event. Reported for all pairs and for cross-language pairs, and
for the contest's labelled pairs (a pair is grouped when the model would join
the second report to the first), split into halves by story like our events,
and for ParaPhraser.ru's Russian headline pairs (headline alone, no text),
split into halves by headline: general news of the same or related events,
where a paraphrase is not quite "one event" (see ``paraphrase_scores``).
The batches written by others after tuning (``data.INDEPENDENT_BATCHES``) are
also reported alone.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from functools import lru_cache

from bench.events.data import (
    ContestPair,
    ParaphrasePair,
    Report,
    background_frequencies,
    independent,
    load_contest,
    load_paraphrases,
    load_reports,
)
from crawler.dedup.offline import InputStory, OfflineClusterer
from crawler.events.grouping import group
from crawler.events.pairs import (
    DocumentFrequencies,
    PairModel,
    background,
    default_model,
    pair_features,
)
from crawler.events.signature import named_days


@lru_cache(maxsize=1)
def bench_frequencies() -> DocumentFrequencies:
    return background_frequencies()


@dataclass
class PairScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def add(self, predicted: bool, actual: bool) -> None:
        self.tp += predicted and actual
        self.fp += predicted and not actual
        self.fn += actual and not predicted

    def __str__(self) -> str:
        return f"P {self.precision:.3f}  R {self.recall:.3f}  (tp {self.tp}, fp {self.fp}, fn {self.fn})"


def grouping_scores(
    reports: list[Report], model: PairModel, threshold: float | None = None
) -> dict[str, PairScore]:
    """Pairwise scores of grouping these reports: all pairs, cross-language, near misses."""
    events = group(
        [r.signature for r in reports],
        model=model,
        threshold=threshold,
        frequencies=bench_frequencies(),
    )
    return pair_scores(reports, events)


def input_story(report: Report) -> InputStory:
    """A labelled report as ``wirewatch dedup`` reads a line of its input."""
    return InputStory(
        id=report.id,
        title=report.title,
        text=report.text,
        url=report.signature.url,
        source=report.signature.source,
        published=report.signature.published,
        language=report.lang,
        links=tuple(sorted(report.signature.links)),
    )


def database_events(reports: list[Report]) -> list[int]:
    """The event of each report when placed through the database, as ``wirewatch dedup`` does."""
    with OfflineClusterer() as clusterer:
        clusterer.add_all(input_story(r) for r in reports)
        by_id = {placement.id: placement.event for placement in clusterer.results()}
    return [by_id[r.id] or -i for i, r in enumerate(reports, start=1)]


def pair_scores(reports: list[Report], events: list[int]) -> dict[str, PairScore]:
    scores = {"all": PairScore(), "cross-language": PairScore(), "telegram-article": PairScore()}
    for i, a in enumerate(reports):
        for j in range(i + 1, len(reports)):
            b = reports[j]
            predicted, actual = events[i] == events[j], a.event == b.event
            scores["all"].add(predicted, actual)
            if a.lang != b.lang:
                scores["cross-language"].add(predicted, actual)
            if {a.kind, b.kind} == {"telegram", "article"}:
                scores["telegram-article"].add(predicted, actual)
    return scores


def without_dates(reports: list[Report]) -> list[Report]:
    """The same reports with no publication times: every event open at once.

    Our labelled events are spread over months, so the time window alone keeps
    most of them apart; an archive has many events of the beat in any one
    window. Grouping without dates shows what the content evidence alone is
    worth, a floor for a dense week. The days a report names in so many words
    ("27 мая") stay; those counted from its publication ("в среду") go with it.
    """
    return [
        dataclasses.replace(
            r,
            signature=dataclasses.replace(
                r.signature, published=None, dates=named_days(r.title, r.text)
            ),
        )
        for r in reports
    ]


def contest_score(
    pairs: list[ContestPair], model: PairModel, threshold: float | None = None
) -> PairScore:
    frequencies = bench_frequencies()
    limit = model.threshold if threshold is None else threshold
    score = PairScore()
    for pair in pairs:
        probability = model.probability(pair_features(pair.first, pair.second, frequencies.idf))
        score.add(probability >= limit, pair.same)
    return score


@lru_cache(maxsize=1)
def paraphrase_frequencies() -> DocumentFrequencies:
    """The shipped background plus every paraphraser headline (labels unread), as for the
    contest: the collection at hand is counted, as it is in production."""
    pairs = load_paraphrases()
    return background().plus(DocumentFrequencies.of(s for p in pairs for s in (p.first, p.second)))


def paraphrase_scores(
    pairs: list[ParaphrasePair], model: PairModel, threshold: float | None = None
) -> dict[str, PairScore]:
    """Pair scores on headline pairs, two readings of "the same event".

    Strict paraphrases (class 1) against non-paraphrases (-1), loose ones left
    out; and strict or loose (1 or 0: often the same happening with a later
    figure, now and then an announcement and its result) against -1. Read as
    a yardstick, not a target: the corpus labels paraphrase, not event.
    """
    frequencies = paraphrase_frequencies()
    limit = model.threshold if threshold is None else threshold
    scores = {"strict vs not": PairScore(), "strict or loose vs not": PairScore()}
    for pair in pairs:
        joined = model.probability(pair_features(pair.first, pair.second, frequencies.idf)) >= limit
        if pair.paraphrase != 0:
            scores["strict vs not"].add(joined, pair.paraphrase == 1)
        scores["strict or loose vs not"].add(joined, pair.paraphrase >= 0)
    return scores


def report(split: str, model: PairModel, threshold: float | None = None) -> None:
    reports = load_reports(split)
    events = len({r.event for r in reports})
    print(f"our events, {split}: {len(reports)} reports of {events} events")
    for name, score in grouping_scores(reports, model, threshold).items():
        print(f"  {name:18} {score}")
    undated = grouping_scores(without_dates(reports), model, threshold)
    for name in ("all", "cross-language"):
        print(f"  {name + ', no dates':18} {undated[name]}")
    if threshold is None:
        stored = pair_scores(reports, database_events(reports))
        for name in ("all", "cross-language"):
            print(f"  {name + ', database':18} {stored[name]}")
    others = independent(reports)
    if others:
        print(f"  independent batches alone, {split}: {len(others)} reports")
        for name, score in grouping_scores(others, model, threshold).items():
            print(f"    {name:16} {score}")
        if threshold is None:
            stored = pair_scores(others, database_events(others))
            print(f"    {'all, database':16} {stored['all']}")
    pairs = load_contest(None if split == "all" else split)
    if pairs:
        print(f"contest pairs, {split} half (every pool, split by story): {len(pairs)} pairs")
        print(f"  {'all':18} {contest_score(pairs, model, threshold)}")
        russian = [p for p in pairs if p.lang == "ru"]
        if russian and len(russian) != len(pairs):
            print(f"  {'ru':18} {contest_score(russian, model, threshold)}")
    else:
        print("contest pairs: ../shared/corpora/dedup/tgcontest-pairs not found, skipped")
    paraphrases = load_paraphrases(None if split == "all" else split)
    if paraphrases:
        print(f"paraphraser headline pairs, ru, {split} half: {len(paraphrases)} pairs")
        for name, score in paraphrase_scores(paraphrases, model, threshold).items():
            print(f"  {name:22} {score}")
    else:
        print("paraphraser pairs: ../shared/corpora/dedup/paraphraser-ru not found, skipped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test", "all", "both"), default="both")
    parser.add_argument("--threshold", type=float, default=None)
    args = parser.parse_args()
    model = default_model()
    print(f"join threshold {args.threshold or model.threshold:.3f}")
    for split in ("dev", "test") if args.split == "both" else (args.split,):
        report(split, model, args.threshold)


if __name__ == "__main__":
    main()
