"""Long-running crawler workers that take their work from Redis (`wirewatch crawl-worker`).

With ``crawl_workers`` on, the scheduler and `wirewatch crawl` start no crawler
process: they record the crawl run as usual and push one job per source onto
``JOBS_KEY``. Every worker is a scrapy-redis spider that idles until jobs
come, turns each into the source's feed request, and shares one request queue
(``QUEUE_KEY``) with the other workers, so an article found by one worker may
be fetched by another, each once. Workers are started once and left running
(``docker compose up --scale crawler=N``); they never end a run themselves.

Who settles the run: the process that queued it (it owns the run, see
``db.queries.crawl_run_alive``), once the run's outstanding work in Redis,
``run_key(run, "pending")``, is back to zero. The count is kept by the workers:

* +1 per job queued (by the queuer), carried over by the job's feed request;
* +1 per request of the run that a worker schedules, except a request that
  replaces one already counted (a retry, a redirect);
* +1 per item a callback yields, -1 when the item has passed the pipelines
  (stored, dropped or failed): the store pipeline holds an item until the
  batch it is stored in has committed, so that is after its counts are written;
* -1 when a callback or errback of the run's request has finished.

A worker killed mid-crawl loses what it held, so the count stops moving: the
queuer gives up after ``STALL_SECONDS`` without progress and fails the run.

This module is imported by the queuing side (the web app among them), so it
does not import Scrapy; the spider is ``crawler.spiders.worker``.

Runs share the workers, so the store pipeline cannot take the run from the
spider (its ``run_id`` stays None): the worker tags each item with its run
(``StoryItem.run_id``), and each store batch adds its items' counts to their
runs in the batch's own transaction.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

JOBS_KEY = "wirewatch:crawl:jobs"
QUEUE_KEY = "wirewatch:crawl:worker:requests"
RUN_META = "wirewatch_run"
STALL_SECONDS = 600.0
# Meta keys Scrapy's middlewares set on a request that replaces another one.
REPLACEMENT_KEYS = ("retry_times", "redirect_times")
CARRIED = "wirewatch_carried"  # a job's feed request: the job's count carries over


def run_key(run_id: int, what: str) -> str:
    return f"wirewatch:crawl:{run_id}:{what}"


def worker_settings() -> dict[str, Any]:
    """The Scrapy settings of a worker process (on top of ``crawler.settings``)."""
    return {
        "SCHEDULER_QUEUE_KEY": QUEUE_KEY,
        # A run's feeds are queued as jobs once each, and articles already stored are
        # skipped by the spider: a duplicate filter shared by every run would only
        # keep the next run from fetching a feed again.
        "DUPEFILTER_CLASS": "crawler.spiders.worker.NoDupeFilter",
        "SCHEDULER_PERSIST": True,  # a worker stopping must not empty the shared queue
        "MAX_IDLE_TIME_BEFORE_CLOSE": 0,  # idle until jobs come, for ever
    }


# -- the queuing side -----------------------------------------------------------------------


class QueuedRun:
    """A run handed to the workers; ``running()`` until its outstanding work is done."""

    def __init__(
        self, redis_url: str, run_id: int, *, stall_seconds: float = STALL_SECONDS
    ) -> None:
        # Imported here: `wirewatch crawl` and the scheduler import this module for
        # every crawl, and only a crawl handed to workers talks to Redis.
        import redis

        self.run_id = run_id
        self.stalled = False
        self._client = redis.Redis.from_url(redis_url)
        self._stall_seconds = stall_seconds
        self._last: tuple[int, int] | None = None
        self._since = time.monotonic()

    def enqueue(self, source_ids: Iterable[int]) -> int:
        """Queue one job per source; the run's counts start from these jobs alone.

        Counts left under the same run id (a queuer that died before settling, a
        database recreated with its run ids starting again at 1) would otherwise
        be added to this run's, and its outstanding work would never reach zero.
        """
        jobs = [json.dumps({"run_id": self.run_id, "source_id": i}) for i in source_ids]
        with self._client.pipeline() as pipe:  # MULTI/EXEC: no worker sees a half-reset run
            pipe.delete(run_key(self.run_id, "done"))
            pipe.set(run_key(self.run_id, "pending"), len(jobs))
            if jobs:
                pipe.rpush(JOBS_KEY, *jobs)
            pipe.execute()
        return len(jobs)

    def progress(self) -> tuple[int, int]:
        """(outstanding units, units done so far)."""
        with self._client.pipeline() as pipe:
            pipe.get(run_key(self.run_id, "pending"))
            pipe.get(run_key(self.run_id, "done"))
            pending, done = pipe.execute()
        return int(pending or 0), int(done or 0)

    def running(self) -> bool:
        if self.stalled:
            return False
        current = self.progress()
        if current[0] <= 0:
            return False
        if current != self._last:
            self._last, self._since = current, time.monotonic()
        elif time.monotonic() - self._since > self._stall_seconds:
            log.error(
                "crawl #%s: no worker made progress for %.0f s", self.run_id, self._stall_seconds
            )
            self.stalled = True
            return False
        return True

    def forget(self) -> None:
        self._client.delete(run_key(self.run_id, "pending"), run_key(self.run_id, "done"))
        self._client.close()
