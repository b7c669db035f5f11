"""A week of publishing by sources of very different rates, and a server that replays it.

The schedule is drawn from a seeded generator, so every run replays the same
week. ``ReplayServer`` serves each source's RSS feed on 127.0.0.1 as it stood
at the simulated moment the client names in the ``X-Simulated-Time`` header
(the newest 20 items published by then), with ETag / 304, and the hints some
real feeds give: ``<ttl>``, ``sy:updatePeriod``, ``Cache-Control: max-age``,
and a maintenance window answered with 503 and ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import random
import threading
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

WEEK_START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # a Monday
WEEK = timedelta(days=7)
FEED_ITEMS = 20


@dataclass(frozen=True)
class SourcePlan:
    name: str
    # Stories per hour at each UTC hour of a weekday; weekends are scaled by ``weekend``.
    per_hour_day: float
    per_hour_night: float
    weekend: float = 1.0
    ttl_minutes: int | None = None
    sy_period: str | None = None
    max_age_seconds: int | None = None
    # (start, end) of a 503 + Retry-After window, in hours after WEEK_START.
    outage_hours: tuple[float, float] | None = None


PLANS = (
    # A wire agency: several an hour by day, fewer at night.
    SourcePlan("agency", per_hour_day=6.0, per_hour_night=1.0, weekend=0.6),
    # A national outlet: about thirty a day; its feed asks for at least 15 minutes.
    SourcePlan("outlet", per_hour_day=1.6, per_hour_night=0.3, weekend=0.7, max_age_seconds=900),
    # A regional site: a handful a day, ttl 60, down for two hours on Wednesday.
    SourcePlan("regional", 0.35, 0.02, weekend=0.5, ttl_minutes=60, outage_hours=(58.0, 60.0)),
    # A ministry press page: one or two releases per working day.
    SourcePlan("ministry", per_hour_day=0.12, per_hour_night=0.0, weekend=0.0, sy_period="daily"),
    # A weekly column.
    SourcePlan("weekly", per_hour_day=0.012, per_hour_night=0.0, weekend=0.0),
    # A dormant blog: nothing this week.
    SourcePlan("dormant", per_hour_day=0.0, per_hour_night=0.0),
)


@dataclass
class Schedule:
    """Publication times per source, sorted, including a week of history before the week."""

    times: dict[str, list[datetime]] = field(default_factory=dict)

    def published_by(self, source: str, moment: datetime) -> list[datetime]:
        times = self.times[source]
        return times[: bisect_right(times, moment)]

    def in_week(self, source: str) -> list[datetime]:
        return [t for t in self.times[source] if WEEK_START <= t < WEEK_START + WEEK]


def draw(seed: int = 15) -> Schedule:
    """Poisson arrivals minute by minute from a week before WEEK_START to its end."""
    rng = random.Random(seed)
    schedule = Schedule()
    start = WEEK_START - WEEK
    minutes = int((2 * WEEK).total_seconds() // 60)
    for plan in PLANS:
        times = []
        for minute in range(minutes):
            moment = start + timedelta(minutes=minute)
            day = 6 <= moment.hour < 20
            rate = plan.per_hour_day if day else plan.per_hour_night
            if moment.weekday() >= 5:
                rate *= plan.weekend
            if rng.random() < rate / 60.0:
                times.append(moment + timedelta(seconds=rng.randrange(60)))
        if plan.name == "dormant":
            times = [WEEK_START - timedelta(days=20)]
        schedule.times[plan.name] = sorted(times)
    return schedule


def feed_xml(plan: SourcePlan, items: list[datetime], base: str) -> bytes:
    channel_hints = ""
    if plan.ttl_minutes:
        channel_hints += f"<ttl>{plan.ttl_minutes}</ttl>"
    if plan.sy_period:
        channel_hints += f"<sy:updatePeriod>{plan.sy_period}</sy:updatePeriod>"
    entries = "".join(
        f"<item><title>{plan.name} story {moment:%Y%m%d%H%M%S}</title>"
        f"<link>{base}/{plan.name}/{moment:%Y%m%d%H%M%S}</link>"
        f"<pubDate>{format_datetime(moment, usegmt=True)}</pubDate></item>"
        for moment in reversed(items[-FEED_ITEMS:])
    )
    return (
        '<?xml version="1.0"?><rss version="2.0" '
        'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel>'
        f"<title>{plan.name}</title><link>{base}/</link><description>d</description>"
        f"{channel_hints}{entries}</channel></rss>"
    ).encode()


@contextmanager
def replay_server(schedule: Schedule) -> Iterator[str]:
    plans = {plan.name: plan for plan in PLANS}
    lock = threading.Lock()
    counts: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = urlsplit(self.path).path.strip("/").split("/")[0]
            plan = plans.get(name)
            moment = datetime.fromisoformat(self.headers["X-Simulated-Time"])
            with lock:
                counts[name] = counts.get(name, 0) + 1
            if plan is None:
                self._answer(404, b"", {})
                return
            if plan.outage_hours is not None:
                hours = (moment - WEEK_START).total_seconds() / 3600
                if plan.outage_hours[0] <= hours < plan.outage_hours[1]:
                    self._answer(503, b"maintenance", {"Retry-After": "3600"})
                    return
            items = schedule.published_by(name, moment)
            body = feed_xml(plan, items, f"http://{self.headers['Host']}")
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            headers = {"ETag": etag, "Content-Type": "application/rss+xml"}
            if plan.max_age_seconds:
                headers["Cache-Control"] = f"public, max-age={plan.max_age_seconds}"
            if self.headers.get("If-None-Match") == etag:
                self._answer(304, b"", headers)
                return
            self._answer(200, body, headers)

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
