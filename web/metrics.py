"""Prometheus metrics: the pipeline's counts read from the database at scrape time.

Crawlers, the scheduler and digests run in other processes, and what they did
is already recorded in the database (crawl runs, digests, stories, the job
store), so every process that serves ``/metrics`` reports the same totals and
nothing is lost when a process restarts. Search latency is measured here, in
the process that serves searches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from db import monitoring, queries
from db.search import pending_count
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from web.auth import MetricsAuth

log = logging.getLogger(__name__)

SEARCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
EXTRACTION_FALLBACK = "feed-summary"  # article page failed: the feed's summary was kept


class DatabaseCollector(Collector):
    """Totals from the database, computed when Prometheus scrapes."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def collect(self) -> Iterator[Metric]:
        try:
            with self.factory() as session:
                yield from self._crawls(session)
                yield from self._stories(session)
                yield from self._digests(session)
                yield from self._sources(session)
                yield from self._scheduler(session)
                yield from self._index(session)
        except SQLAlchemyError as exc:
            log.warning("metrics: database unavailable: %s", exc)
            up = GaugeMetricFamily("wirewatch_database_up", "1 when the database answered")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily("wirewatch_database_up", "1 when the database answered")
        up.add_metric([], 1)
        yield up

    def _crawls(self, session: Session) -> Iterator[Metric]:
        totals = monitoring.crawl_totals(session=session)
        counters = (
            ("wirewatch_feed_fetches", "Feed fetches done by crawls", totals.feed_fetches),
            (
                "wirewatch_feed_not_modified",
                "Feed fetches answered 304 Not Modified",
                totals.not_modified,
            ),
            (
                "wirewatch_items_fetched",
                "Feed entries and pages processed by crawls",
                totals.fetched,
            ),
            ("wirewatch_stories_new", "Stories stored for the first time", totals.new),
            (
                "wirewatch_stories_duplicate",
                "Items that were an already stored story",
                totals.duplicates,
            ),
            (
                "wirewatch_stories_updated",
                "Stored stories whose text changed (new version)",
                totals.updated,
            ),
            ("wirewatch_fetch_failures", "Feed or page fetches that failed", totals.failed),
        )
        for name, doc, value in counters:
            counter = CounterMetricFamily(name, doc)
            counter.add_metric([], float(value))
            yield counter
        runs = CounterMetricFamily(
            "wirewatch_crawl_runs", "Crawl runs by outcome", labels=["status"]
        )
        for status, count in monitoring.crawl_runs_by_status(session=session):
            runs.add_metric([status.value], float(count))
        yield runs
        last = monitoring.last_crawl_finished(session=session)
        finished = GaugeMetricFamily(
            "wirewatch_last_crawl_finished_timestamp_seconds", "When the last crawl run ended"
        )
        if last is not None:
            finished.add_metric([], _aware(last).timestamp())
        yield finished

    def _stories(self, session: Session) -> Iterator[Metric]:
        stories = GaugeMetricFamily("wirewatch_stories", "Stories in the archive")
        stories.add_metric([], float(queries.count_stories(session=session)))
        yield stories
        fallback = monitoring.stories_extracted_by(session=session, method=EXTRACTION_FALLBACK)
        failures = CounterMetricFamily(
            "wirewatch_extraction_failures",
            "Stories whose article page could not be fetched or extracted (feed summary kept)",
        )
        failures.add_metric([], float(fallback))
        yield failures

    def _digests(self, session: Session) -> Iterator[Metric]:
        digests = CounterMetricFamily("wirewatch_digests", "Digests by status", labels=["status"])
        for status, count in monitoring.digests_by_status(session=session):
            digests.add_metric([status.value], float(count))
        yield digests

    def _sources(self, session: Session) -> Iterator[Metric]:
        gauge = GaugeMetricFamily("wirewatch_sources", "Sources by state", labels=["state"])
        counts = monitoring.source_counts(session=session)
        gauge.add_metric(["enabled"], float(counts.enabled))
        gauge.add_metric(["disabled"], float(counts.total - counts.enabled))
        gauge.add_metric(["failing"], float(counts.failing))
        yield gauge

    def _scheduler(self, session: Session) -> Iterator[Metric]:
        """How late the most overdue scheduler job is (0 when none is overdue)."""
        lag = GaugeMetricFamily(
            "wirewatch_scheduler_lag_seconds",
            "Seconds since the most overdue scheduled job should have run",
        )
        earliest = monitoring.earliest_scheduled_run(session=session)
        if earliest is not None:
            lag.add_metric([], max(0.0, time.time() - earliest))
        yield lag

    def _index(self, session: Session) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "wirewatch_search_index_pending", "Changed stories waiting to be indexed for search"
        )
        gauge.add_metric([], float(pending_count(session)))
        yield gauge


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Metrics:
    """One app's registry: database totals plus in-process search latency."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(DatabaseCollector(factory))
        self.search_seconds = Histogram(
            "wirewatch_search_seconds",
            "Time to answer an archive search (pages, API, exports' first batch)",
            labelnames=["via"],
            buckets=SEARCH_BUCKETS,
            registry=self.registry,
        )


router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(request: Request, _: MetricsAuth) -> Response:
    """Prometheus text format; needs the metrics (or admin) bearer token."""
    registry: CollectorRegistry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
