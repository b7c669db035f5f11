"""Memory figures of a benchmark's measuring process."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's resident memory peak since it started its program.

    Not ``ru_maxrss``: Linux carries that over ``exec`` from the forked copy of the
    parent, so a spawned child would report the parent's peak (the archive-size
    bench's builder held a 2 GB page cache). ``VmHWM`` belongs to the process's own memory map.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
