"""Requests per new story: adaptive polling vs a fixed 30 minutes, over a simulated week.

python -m bench.polling.run [--seed 15] [--fixed 30]

A replay server (``bench.polling.schedule``) serves six feeds of very
different rates as they stood at a simulated moment; the client polls them
on a simulated clock (no waiting), over real HTTP on 127.0.0.1, reading each
answer with the crawler's own feed parser and hint readers and choosing the
next poll with the crawler's own policy (``crawler.polling.interval_for``,
as the store pipeline does after every fetch). Both runs see the same week.

Printed per source and in all: requests (304s and 503s included), new
stories found, requests per new story, stories missed (pushed out of a
20-item feed between two polls), and the delay from publication to
discovery (mean and 90th percentile).
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bench.polling.schedule import PLANS, WEEK, WEEK_START, Schedule, draw, replay_server
from crawler.feeds import parse_feed
from crawler.polling import (
    RATE_WINDOW,
    PollBounds,
    PollHints,
    cache_max_age_minutes,
    interval_for,
    retry_after_minutes,
)

SOURCE_AGE = timedelta(days=90)


@dataclass
class Tally:
    requests: int = 0
    not_modified: int = 0
    unavailable: int = 0
    new: int = 0
    delays: list[float] = field(default_factory=list)  # minutes

    def per_story(self) -> float:
        return self.requests / self.new if self.new else float("inf")


def simulate(
    base: str, schedule: Schedule, *, adaptive: bool, fixed: int, seed: int
) -> dict[str, Tally]:
    rng = random.Random(seed)
    bounds = PollBounds(min_minutes=5, max_minutes=24 * 60, jitter=0.1)
    tallies = {plan.name: Tally() for plan in PLANS}
    known: dict[str, dict[str, datetime]] = {plan.name: {} for plan in PLANS}
    etags: dict[str, str | None] = {plan.name: None for plan in PLANS}
    # Every source starts due at the week's start, as after `wirewatch init`.
    queue = [(WEEK_START, plan.name) for plan in PLANS]
    heapq.heapify(queue)
    end = WEEK_START + WEEK
    while queue:
        now, name = heapq.heappop(queue)
        if now >= end:
            continue
        tally = tallies[name]
        tally.requests += 1
        status, body, headers = _get(f"{base}/{name}/rss.xml", now, etags[name])
        feed_minutes = None
        if status == 200:
            etags[name] = headers.get("ETag")
            feed = parse_feed(body, base_url=base, fetched_at=now)
            feed_minutes = feed.refresh_minutes
            for entry in feed.entries:
                if entry.link in known[name] or entry.published is None:
                    continue
                known[name][entry.link] = entry.published
                if entry.published >= WEEK_START:
                    tally.new += 1
                    tally.delays.append((now - entry.published).total_seconds() / 60)
        elif status == 304:
            tally.not_modified += 1
        else:
            tally.unavailable += 1
        hints = PollHints(
            feed_minutes=feed_minutes,
            max_age_minutes=cache_max_age_minutes(headers.get("Cache-Control")),
            retry_after_minutes=retry_after_minutes(headers.get("Retry-After"), now=now),
        )
        window = [t for t in known[name].values() if t >= now - RATE_WINDOW]
        minutes = interval_for(
            adaptive=adaptive,
            fixed_minutes=float(fixed),
            recent_new=len(window),
            age=SOURCE_AGE,
            oldest=now - min(window) if window else None,
            hints=hints,
            bounds=bounds,
            rng=rng,
        )
        heapq.heappush(queue, (now + timedelta(minutes=minutes), name))
    return tallies


def _get(url: str, now: datetime, etag: str | None) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers={"X-Simulated-Time": now.isoformat()})
    if etag:
        request.add_header("If-None-Match", etag)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read(), dict(answer.headers.items())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers.items())


def _row(name: str, tally: Tally, published: int) -> str:
    delays = sorted(tally.delays)
    mean = statistics.fmean(delays) if delays else 0.0
    p90 = delays[int(0.9 * (len(delays) - 1))] if delays else 0.0
    per = f"{tally.per_story():.2f}" if tally.new else "-"
    return (
        f"{name:<10} {published:>9} {tally.requests:>8} {tally.not_modified:>6} "
        f"{tally.new:>6} {published - tally.new:>6} {per:>9} {mean:>9.1f} {p90:>9.1f}"
    )


def report(title: str, tallies: dict[str, Tally], schedule: Schedule) -> Tally:
    print(f"\n{title}")
    print(
        f"{'source':<10} {'published':>9} {'requests':>8} {'304s':>6} {'new':>6} {'missed':>6} "
        f"{'req/story':>9} {'mean min':>9} {'p90 min':>9}"
    )
    total = Tally()
    published_total = 0
    for plan in PLANS:
        tally = tallies[plan.name]
        published = len(schedule.in_week(plan.name))
        published_total += published
        print(_row(plan.name, tally, published))
        total.requests += tally.requests
        total.not_modified += tally.not_modified
        total.new += tally.new
        total.delays += tally.delays
    print(_row("all", total, published_total))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=15, help="the week's schedule and jitter")
    parser.add_argument("--fixed", type=int, default=30, help="the fixed interval, in minutes")
    args = parser.parse_args()
    schedule = draw(args.seed)
    with replay_server(schedule) as base:
        fixed = simulate(base, schedule, adaptive=False, fixed=args.fixed, seed=args.seed)
        adaptive = simulate(base, schedule, adaptive=True, fixed=args.fixed, seed=args.seed)
    baseline = report(f"fixed {args.fixed} minutes (baseline)", fixed, schedule)
    result = report("adaptive (5 min - 24 h, jitter 10 %)", adaptive, schedule)
    print(
        f"\nrequests per new story: fixed {baseline.per_story():.2f}, adaptive "
        f"{result.per_story():.2f} ({result.per_story() / baseline.per_story():.2f}x); "
        f"requests {baseline.requests} -> {result.requests} "
        f"({result.requests / baseline.requests:.2f}x); mean delay "
        f"{statistics.fmean(baseline.delays):.1f} -> {statistics.fmean(result.delays):.1f} min"
    )


if __name__ == "__main__":
    main()
