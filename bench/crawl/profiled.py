"""``scrapy`` under cProfile, for the crawl benchmark's per-stage profile.

Run: ``python -m bench.crawl.profiled PROFILE_OUT USAGE_JSON <scrapy arguments>``.
Writes the profile (CPU time of this process, all threads) and the process's own CPU, its children's (the extraction
workers, reaped when the crawl closes) and its wall time.
"""

from __future__ import annotations

import cProfile
import json
import resource
import sys
import time
from pathlib import Path

from scrapy.cmdline import execute


def main(argv: list[str]) -> int:
    prof, usage, scrapy_args = Path(argv[0]), Path(argv[1]), argv[2:]
    # CPU time, not wall: on a shared machine, waiting for a core is not a stage's cost.
    profiler = cProfile.Profile(time.process_time)
    started = time.monotonic()
    code = 0
    profiler.enable()
    try:
        execute(["scrapy", *scrapy_args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        profiler.disable()
    profiler.dump_stats(prof)
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    usage.write_text(
        json.dumps(
            {
                "wall": time.monotonic() - started,
                "self_cpu": own.ru_utime + own.ru_stime,
                "children_cpu": children.ru_utime + children.ru_stime,
            }
        )
    )
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
