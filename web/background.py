"""Work the web process does between requests: keep the search index current.

Crawlers and other processes write stories; triggers queue them; this thread
indexes them every few seconds, so searches rarely wait for indexing.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from wirewatch.archive import refresh_index

log = logging.getLogger(__name__)


class IndexWorker:
    def __init__(self, factory: sessionmaker[Session], interval: float = 2.0) -> None:
        self.factory = factory
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="search-indexer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                result = refresh_index(self.factory, limit=5000)
                if result.indexed:
                    log.info(
                        "search index: %d stories indexed, %d waiting",
                        result.indexed,
                        result.remaining,
                    )
                    if result.remaining:
                        continue  # more to do: no pause
            except SQLAlchemyError as exc:
                log.warning("search index: could not index changed stories: %s", exc)
            self._stop.wait(self.interval)
