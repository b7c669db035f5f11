"""A crawl's short-lived processes skip the interpreter's last garbage collections.

When a Python process exits, the interpreter tears every module down and runs
full garbage collections over what they held: for the crawl processes (the
`wirewatch crawl` command, the Scrapy crawl process, the extraction workers),
with SQLAlchemy, Scrapy, Twisted and the lexicon loaded, that is about 0.3 to
0.45 s of CPU per process, paid on every crawl however small, to free memory
the operating system takes back at once anyway.

``skip_teardown_collection`` registers an exit handler that first closes every
database engine's pooled connections (``db.session.close_idle_connections``,
so SQLite checkpoints its WAL as it did when the teardown closed them) and then
moves every object still alive to the collector's permanent generation
(``gc.freeze``), which the teardown's collections do not visit. Other exit
handlers still run, and objects made after it are collected as before. When a
connection is still checked out (a thread mid-transaction) nothing is frozen
and the process exits as it always did.
"""

from __future__ import annotations

import atexit
import gc
import sys

_registered = False


def skip_teardown_collection() -> None:
    """Register the exit handler (once per process)."""
    global _registered
    if not _registered:
        _registered = True
        atexit.register(_freeze_survivors)


def _freeze_survivors() -> None:
    session = sys.modules.get("db.session")
    if session is not None and not session.close_idle_connections():
        return
    gc.freeze()
