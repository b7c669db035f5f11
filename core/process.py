"""Who a process is, and whether it is still running, told apart from a reused pid.

A crawl run records the process that will settle it (host, pid, and the
process's start time). Any process reading the run later can then tell a
crawl whose owner was killed (``kill -9``, a crash, a container stopped) from
one still running, without a scheduler or any other watcher: on the same host
the pid is looked up and its start time compared, so a pid the kernel has since
given to another program does not count as the owner. On another host nothing
can be looked up (``probe`` says None) and the run's heartbeat decides.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    host: str
    pid: int
    # "<boot id>:<start time in clock ticks since boot>" on Linux; "" where unknown.
    started: str


def host_name() -> str:
    return socket.gethostname()[:255]


@lru_cache(maxsize=1)
def _boot_id() -> str:
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return ""


def start_time(pid: int) -> str | None:
    """The process's start stamp, "" where the platform cannot tell, None when it is gone."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return None if _PROC.joinpath("self").exists() else ""
    except OSError:
        return ""
    # Field 2 (the command name) is in parentheses and may hold spaces: split after it.
    fields = stat.rpartition(")")[2].split()
    if len(fields) < 20:
        return ""
    return f"{_boot_id()}:{fields[19]}"


def current() -> ProcessIdentity:
    pid = os.getpid()
    return ProcessIdentity(host=host_name(), pid=pid, started=start_time(pid) or "")


def probe(host: str, pid: int, started: str | None) -> bool | None:
    """Whether that process still runs: True or False when this host can tell, else None."""
    if host != host_name():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    except OSError:
        return None
    if not started:
        return True  # no start time recorded: a live pid is all we know
    now = start_time(pid)
    if now is None:
        return False
    return now == started if now else True
