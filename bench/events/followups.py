"""Follow-up links between events: precision and recall, dev and test parts.

    .venv/bin/python -m bench.events.followups [--split dev|test|both] [--lookback DAYS]

Places the reports of one part through the database, in time order, as
``wirewatch dedup`` does (``bench.events.quality.database_events``), then reads
which events were linked as developments of earlier ones
(``events.follows_event_id``, set by ``crawler.events.followups``).

Labels: an event record's ``follows`` names the labelled event it is a later
step of (signed, then ratified; a second flight). A predicted link is right
when it points to that event or to one it follows in turn (a chain of steps:
talks, signature, ratification). Recall is over the labelled links whose two
events are in the part, and over those within the look-back, which is all a
link can reach. A database event is named by the label most of its reports
carry.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from bench.events.data import EVENTS_DIR, Report, load_reports
from bench.events.quality import PairScore, input_story
from crawler.dedup.offline import OfflineClusterer
from crawler.events import followups
from crawler.events.grouping import WINDOW
from db.models import Event


def follows_labels() -> dict[str, str]:
    """Labelled event → the labelled event it is a later step of."""
    labels: dict[str, str] = {}
    for path in sorted(EVENTS_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row.get("follows"):
                    labels[row["event"]] = row["follows"]
    return labels


def ancestors(event: str, labels: dict[str, str]) -> set[str]:
    found: set[str] = set()
    while event in labels and labels[event] not in found:
        event = labels[event]
        found.add(event)
    return found


@dataclass
class FollowScore:
    links: PairScore  # every labelled link in the part
    reachable: PairScore  # labelled links within the look-back
    predicted: list[tuple[str, str, bool]]  # (later, earlier, right) named by labels


def predicted_links(reports: list[Report]) -> list[tuple[str, str]]:
    """(later, earlier) labelled events of every link placement recorded."""
    with OfflineClusterer() as clusterer:
        clusterer.add_all(input_story(r) for r in reports)
        by_id = {placement.id: placement.event for placement in clusterer.results()}
        label = {r.id: r.event for r in reports}
        votes: dict[int, Counter[str]] = {}
        for report_id, event_id in by_id.items():
            if event_id is not None:
                votes.setdefault(event_id, Counter())[label[report_id]] += 1
        name = {event_id: count.most_common(1)[0][0] for event_id, count in votes.items()}
        session = clusterer.session
        rows = session.execute(
            select(Event.id, Event.follows_event_id).where(Event.follows_event_id.is_not(None))
        ).all()
        return [(name[a], name[b]) for a, b in rows if a in name and b in name]


def score(reports: list[Report], lookback: timedelta) -> FollowScore:
    labels = follows_labels()
    present = {r.event for r in reports}
    first: dict[str, datetime] = {}
    for r in reports:
        when = r.signature.published
        if when is not None and (r.event not in first or when < first[r.event]):
            first[r.event] = when
    predicted = predicted_links(reports)
    found: dict[str, str] = {}
    result = FollowScore(PairScore(), PairScore(), [])
    for later, earlier in predicted:
        right = earlier in ancestors(later, labels)
        result.predicted.append((later, earlier, right))
        found.setdefault(later, earlier)
        for part in (result.links, result.reachable):
            part.tp += right
            part.fp += not right
    for later, earlier in labels.items():
        if later not in present or earlier not in present:
            continue
        hit = later in found and found[later] in ancestors(later, labels)
        gap = first[later] - first[earlier]
        if not hit:
            result.links.fn += 1
            if WINDOW < gap <= lookback:
                result.reachable.fn += 1
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test", "both"), default="both")
    parser.add_argument("--lookback", type=int, default=None, help="days (default: the shipped)")
    parser.add_argument("--min-probability", type=float, default=None)
    parser.add_argument("--min-headline", type=float, default=None)
    parser.add_argument("--verbose", action="store_true", help="list the links (dev only)")
    args = parser.parse_args()
    if args.lookback is not None:
        followups.LOOKBACK = timedelta(days=args.lookback)
    if args.min_probability is not None:
        followups.MIN_PROBABILITY = args.min_probability
    if args.min_headline is not None:
        followups.MIN_HEADLINE = args.min_headline
    lookback = followups.LOOKBACK
    print(
        f"look-back {lookback.days} days, headline ≥ {followups.MIN_HEADLINE}, "
        f"probability ≥ {followups.MIN_PROBABILITY}"
    )
    for split in ("dev", "test") if args.split == "both" else (args.split,):
        reports = load_reports(split)
        result = score(reports, lookback)
        print(f"follow-up links, {split}: {len({r.event for r in reports})} events")
        print(f"  {'all labelled':22} {result.links}")
        print(f"  {'within the look-back':22} {result.reachable}")
        if args.verbose and split == "dev":
            for later, earlier, right in result.predicted:
                print(f"    {'+' if right else '-'} {later} -> {earlier}")


if __name__ == "__main__":
    main()
