"""`make bench` / `python -m bench`: run the quick benchmarks and print their figures.

Each benchmark prints its own figures and ratios against a baseline measured
in the same run. The long ones (1,000,000-story runs) are run by hand; see
bench/README.md for their commands.
"""

from __future__ import annotations

import subprocess
import sys

QUICK = (
    ("extraction quality and speed vs trafilatura", ["bench.extraction.run"]),
    ("each extraction pass: cost and held-out F1", ["bench.extraction.passes"]),
    ("topic quality per language", ["bench.matching.topic_quality"]),
    (
        "topic quality on the beat set, dev half, per row",
        ["bench.matching.topic_quality", "--beat", "--split", "dev", "--rows"],
    ),
    ("percolator vs naive loop, 10,000 topics", ["bench.matching.percolator"]),
    ("dedup quality on the shared corpora", ["bench.dedup.quality"]),
    ("dedup index vs exact-hash baseline, 20,000 stories", ["bench.dedup.scale", "--n", "20000"]),
    ("polling: adaptive vs fixed 30 minutes, a replayed week", ["bench.polling.run"]),
)


def main() -> int:
    failed = 0
    for title, module in QUICK:
        print(f"\n=== {title} ===", flush=True)
        failed += subprocess.call([sys.executable, "-m", *module]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
