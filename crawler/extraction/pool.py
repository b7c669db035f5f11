"""Article extraction in worker processes, each page under a time and size limit.

Parsing a page is CPU work that can take from milliseconds to minutes (a
hostile 7 MB page of 200,000 links took 113 s). Run in the crawl process it
holds every download and uses one core. Here each page goes to one of a fixed
set of worker processes (one per core by default):

* a page larger than ``max_bytes`` is not parsed at all;
* a page still being parsed after ``time_limit`` seconds has its worker killed
  and replaced, so it costs only its own slot and the other slots keep working;
* a worker that dies (out of memory, a crash in C code) is replaced the same way.

Each of those comes back as a failed ``ExtractionResult`` whose error names the
limit and the setting that sets it, never as an exception: the caller keeps
the story with what its feed gave.

The pool hands out ``concurrent.futures.Future`` objects; one thread per slot
sends the page down a pipe and waits for the answer with the time limit, so no
thread of the caller ever blocks on parsing. Workers start on first use, each a
fresh interpreter that imports the extraction code (``_Slot`` says why not a
fork); a replacement after an overrun pays that start-up again.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Self

from crawler.extraction.model import ExtractionResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PoolLimits:
    """How many workers, and what one page may cost."""

    workers: int
    time_limit: float
    max_bytes: int

    @staticmethod
    def default_workers() -> int:
        """One worker per core this process may run on."""
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not Linux
            return max(1, os.cpu_count() or 1)


# A new worker imports the extraction code (about a second) before it says so.
STARTUP_LIMIT = 120.0
_READY = "ready"


@dataclass(frozen=True)
class _Job:
    html: bytes
    url: str | None
    headers: dict[str, str]


def _serve(conn: Connection) -> None:
    """A worker's loop: a page in, its result out, until the pipe closes or None arrives."""
    # Ctrl-C reaches the whole process group; the crawl process decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Imported here, not at the top: the crawl process imports this module for the pool.
    from crawler.extraction.extract import extract_article

    conn.send(_READY)  # imports done: the time limit counts parsing only
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            result = extract_article(job.html, url=job.url, headers=job.headers)
        except Exception as exc:  # the page's problem, reported as its result
            log.exception("extraction raised on %s", job.url)
            result = ExtractionResult.failure(
                f"extraction raised {type(exc).__name__}: {str(exc)[:200]}"
            )
        try:
            conn.send(result)
        except (BrokenPipeError, OSError):
            return


class _Slot:
    """One worker process and its socket; replaced whenever a page overruns or kills it.

    Workers are fresh interpreters (``python -m crawler.extraction.pool FD``),
    not forks: the crawl process runs a reactor and threads, which a fork would
    copy mid-flight, and multiprocessing's spawn would re-run the crawl's own
    main module in each worker.
    """

    def __init__(self, number: int) -> None:
        self._number = number
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self.replaced = 0

    def _start(self) -> Connection:
        if self._process is not None and self._process.poll() is None and self._conn is not None:
            return self._conn
        self._stop_process()
        ours, theirs = socket.socketpair()
        with theirs:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
            self._process = subprocess.Popen(
                [sys.executable, "-m", "crawler.extraction.pool", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                env=env,
                stdin=subprocess.DEVNULL,
            )
        conn = Connection(ours.detach())
        self._conn = conn
        if not (conn.poll(STARTUP_LIMIT) and conn.recv() == _READY):
            raise EOFError(f"the extraction worker did not start within {STARTUP_LIMIT:g} s")
        return conn

    def run(self, job: _Job, time_limit: float) -> ExtractionResult:
        try:
            conn = self._start()
            conn.send(job)
            if conn.poll(time_limit):
                result: ExtractionResult = conn.recv()
                return result
        except (EOFError, OSError) as exc:
            code = self._exit_code()
            self._replace()
            return ExtractionResult.failure(
                f"the extraction worker died on this page ({_exit(code) or repr(exc)}); "
                "it was replaced",
                over_limit=True,
            )
        self._replace()
        return ExtractionResult.failure(
            f"extraction took longer than {time_limit:g} s (WIREWATCH_EXTRACTION_TIME_LIMIT); "
            "its worker was stopped and replaced",
            over_limit=True,
        )

    def _exit_code(self) -> int | None:
        """The worker's exit status once it has died (None if it is somehow still running)."""
        if self._process is None:
            return None
        try:
            return self._process.wait(2)
        except subprocess.TimeoutExpired:
            return None

    def _replace(self) -> None:
        self.replaced += 1
        self._stop_process()

    def _stop_process(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            self._process = None

    def close(self) -> None:
        """Ask the worker to exit; kill it if it does not within a second."""
        if self._conn is not None and self._process is not None and self._process.poll() is None:
            try:
                self._conn.send(None)
                self._process.wait(1)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._stop_process()


def _exit(code: int | None) -> str:
    if code is None:
        return ""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class ExtractionPool:
    """``submit`` a page, get a future of its ``ExtractionResult``; at most ``workers`` at once.

    Pages wait in submission order while every slot is busy; the caller bounds
    how many it submits (the spider holds a semaphore of pending pages).
    """

    def __init__(self, limits: PoolLimits) -> None:
        if limits.workers < 1:
            raise ValueError("an extraction pool needs at least one worker")
        self.limits = limits
        self._slots = [_Slot(n) for n in range(limits.workers)]
        self._idle: queue.SimpleQueue[_Slot] = queue.SimpleQueue()
        for slot in self._slots:
            self._idle.put(slot)
        self._threads = ThreadPoolExecutor(limits.workers, thread_name_prefix="extraction")
        self._closed = threading.Event()

    def submit(
        self, html: bytes, url: str | None = None, headers: Mapping[str, str] | None = None
    ) -> Future[ExtractionResult]:
        """The page's result, later; a page over the size limit is answered at once."""
        if len(html) > self.limits.max_bytes:
            done: Future[ExtractionResult] = Future()
            done.set_result(
                ExtractionResult.failure(
                    f"page of {len(html):,} bytes is larger than the extraction limit of "
                    f"{self.limits.max_bytes:,} bytes (WIREWATCH_EXTRACTION_MAX_BYTES); "
                    "not parsed",
                    over_limit=True,
                )
            )
            return done
        if self._closed.is_set():
            raise RuntimeError("the extraction pool is closed")
        return self._threads.submit(self._run, _Job(html, url, dict(headers or {})))

    def _run(self, job: _Job) -> ExtractionResult:
        slot = self._idle.get()  # as many threads as slots: one is always free here
        try:
            return slot.run(job, self.limits.time_limit)
        finally:
            self._idle.put(slot)

    @property
    def replaced(self) -> int:
        """Workers replaced so far (pages that overran their time or killed their worker)."""
        return sum(slot.replaced for slot in self._slots)

    def close(self) -> None:
        """Drop queued pages, wait for the running ones (each within its time limit), stop workers."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._threads.shutdown(wait=True, cancel_futures=True)
        for slot in self._slots:
            slot.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    from core.teardown import skip_teardown_collection

    skip_teardown_collection()
    _serve(Connection(int(sys.argv[1])))
