"""Crawls started from the web app and the API: one per set of sources at a time.

A crawl is a child process (``crawler.runner.start_crawl``; Scrapy never runs
in the web process). Triggers for sources already being crawled join the
running crawl and get its id (in-flight key), whether it was started here or
by another process (a running crawl-run row names them). A thread per crawl
waits for the child and records the outcome (``crawler.runner.settle``), so a
run ends ``succeeded``/``partial``/``failed`` even if nobody watches it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from core.settings import Settings
from crawler.runner import CrawlHandle, settle, start_crawl
from db import queries
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

ALL = ("*",)


@dataclass(frozen=True)
class Started:
    run_id: int
    joined: bool  # True: a crawl of these sources was already running; this is its id


class CrawlManager:
    def __init__(self, settings: Settings, factory: sessionmaker[Session]) -> None:
        self.settings = settings
        self.factory = factory
        self._lock = threading.Lock()
        self._running: dict[tuple[str, ...], CrawlHandle] = {}
        self._threads: list[threading.Thread] = []

    def start(self, sources: list[str] | None, *, trigger: str = "web") -> Started:
        """Start a crawl of ``sources`` (None: every enabled source), or join the running one.

        Raises NotFoundError for an unknown source name.
        """
        key = tuple(sorted(set(sources))) if sources else ALL
        with self._lock:
            handle = self._running.get(key)
            if handle is not None and handle.running():
                return Started(handle.run_id, joined=True)
            other = self._running_elsewhere(key)
            if other is not None:
                return Started(other, joined=True)
            handle = start_crawl(
                self.settings,
                self.factory,
                source_names=list(key) if key != ALL else None,
                crawl_all=key == ALL,
                trigger=trigger,
            )
            self._running[key] = handle
            thread = threading.Thread(
                target=self._settle, args=(key, handle), name=f"crawl-{handle.run_id}", daemon=True
            )
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()
            return Started(handle.run_id, joined=False)

    def _running_elsewhere(self, key: tuple[str, ...]) -> int | None:
        """A crawl of exactly one of these sources, running in another process."""
        if key == ALL or len(key) != 1:
            return None
        with self.factory() as session:
            source = queries.get_source(session=session, name=key[0])
            for run in queries.running_crawl_runs(session=session):
                if run.source_id == source.id:
                    return run.id
        return None

    def _settle(self, key: tuple[str, ...], handle: CrawlHandle) -> None:
        try:
            run = settle(self.factory, handle)
            log.info("crawl #%s finished: %s", run.id, run.status.value)
        except Exception:  # a crashed settle must not kill the web app; the run stays visible
            log.exception("could not record the end of crawl #%s", handle.run_id)
        finally:
            with self._lock:
                if self._running.get(key) is handle:
                    del self._running[key]

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the crawls started here to be settled (tests, shutdown)."""
        for thread in list(self._threads):
            thread.join(timeout)
