"""Whole-crawl benchmark: wirewatch against a plain Scrapy crawler of the same feeds.

Run: ``python -m bench.crawl.run [--pages 2000] [--feeds 40] [--runs 6]
[--postgres URL | --no-postgres] [--no-profile]``

A loopback site (``bench.crawl.site``) serves ``--feeds`` RSS feeds linking
``--pages`` real news pages (the shared article-extraction pages, each copy
made unique). Each round runs, in an order that rotates every round:

* **baseline**: plain Scrapy + feedparser + ``trafilatura.extract``, writing
  JSON lines (``bench.crawl.baseline``);
* ``wirewatch crawl --all`` on a fresh SQLite database;
* ``wirewatch crawl --all`` on a fresh PostgreSQL database.

Reported: median wall time and CPU (the command and every process it waited
for: the crawler process and its extraction workers), ratios to the baseline,
stories stored. For PostgreSQL the server's CPU over the run is shown apart
(read from the postmaster's reaped-children times: the backends the crawl
used, plus anything else the shared server did meanwhile).

Then one more SQLite crawl runs its crawler process under cProfile and prints
where the crawl process's time went by stage (feed parsing, the extraction
hand-off, normalise, dedup, store with its commits), with the extraction
workers' CPU beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from bench.crawl.site import BenchSite, Layout
from bench.databases import scratch_postgres
from db import queries
from db.migrate import upgrade
from db.models import Story
from db.session import make_engine, make_sessionmaker, unit_of_work

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Measure:
    wall: float
    cpu: float
    stored: int
    server_cpu: float = 0.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(args: list[str], env: dict[str, str], log: Path) -> tuple[float, float]:
    """Wall and CPU of the command and every process it (transitively) waited for."""
    cpu0, wall0 = _children_cpu(), time.monotonic()
    with log.open("ab") as out:
        code = subprocess.call(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    wall, cpu = time.monotonic() - wall0, _children_cpu() - cpu0
    if code != 0:
        raise RuntimeError(f"{' '.join(args[:4])}... exited {code}; see {log}")
    return wall, cpu


def _postmaster_cpu() -> float | None:
    """CPU seconds of the PostgreSQL postmaster and its reaped backends, if visible here."""
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[str, list[str]]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        procs[int(stat.parent.name)] = (comm, raw[raw.rindex(")") + 2 :].split())
    for comm, rest in procs.values():
        parent = procs.get(int(rest[1]), ("", []))[0]
        if comm.startswith("postgres") and not parent.startswith("postgres"):
            # utime, stime, cutime, cstime: the postmaster and the backends it reaped.
            return sum(int(v) for v in rest[11:15]) / tick
    return None


def _base_env(data_dir: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            "WIREWATCH_DATA_DIR": str(data_dir),
            "WIREWATCH_DATABASE_URL": database_url,
            "WIREWATCH_ALLOW_PRIVATE_HOSTS": "127.0.0.0/8",
            "WIREWATCH_DOWNLOAD_DELAY": "0",
            "WIREWATCH_OBEY_ROBOTS_TXT": "false",
            "WIREWATCH_LOG_LEVEL": "WARNING",
        }
    )
    return env


def _prepare(database_url: str, feeds: list[str]) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            for n, url in enumerate(feeds):
                queries.upsert_source(session=session, name=f"bench-{n:02d}", url=url)
    finally:
        engine.dispose()


def _stored(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Story)).scalar_one())
    finally:
        engine.dispose()


class Bench:
    def __init__(self, site: BenchSite, work: Path, postgres: str | None) -> None:
        self.site = site
        self.work = work
        self.postgres = postgres
        self.log = work / "bench.log"

    def baseline(self) -> Measure:
        out = self.work / f"baseline-{uuid.uuid4().hex[:6]}.jsonl"
        args = [sys.executable, "-m", "bench.crawl.baseline", str(out), *self.site.feed_urls()]
        wall, cpu = _timed(args, _base_env(self.work, "sqlite://"), self.log)
        lines = sum(1 for _ in out.open(encoding="utf-8"))
        out.unlink()
        return Measure(wall, cpu, lines)

    def _wirewatch(self, database_url: str, data_dir: Path) -> Measure:
        _prepare(database_url, self.site.feed_urls())
        args = [sys.executable, "-m", "cli", "crawl", "--all"]
        server0 = _postmaster_cpu() if database_url.startswith("postgresql") else None
        wall, cpu = _timed(args, _base_env(data_dir, database_url), self.log)
        server1 = _postmaster_cpu() if server0 is not None else None
        server = (server1 or 0.0) - server0 if server0 is not None else 0.0
        return Measure(wall, cpu, _stored(database_url), server)

    def sqlite(self) -> Measure:
        data_dir = Path(tempfile.mkdtemp(dir=self.work))
        return self._wirewatch(f"sqlite:///{data_dir / 'wirewatch.db'}", data_dir)

    def postgresql(self) -> Measure:
        assert self.postgres is not None
        data_dir = Path(tempfile.mkdtemp(dir=self.work))
        with scratch_postgres(self.postgres) as url:
            return self._wirewatch(url, data_dir)

    def profile(self) -> dict[str, float]:
        """One SQLite crawl with its crawler process under cProfile; seconds by stage."""
        data_dir = Path(tempfile.mkdtemp(dir=self.work))
        url = f"sqlite:///{data_dir / 'wirewatch.db'}"
        _prepare(url, self.site.feed_urls())
        prof, usage = self.work / "crawl.prof", self.work / "usage.json"
        env = {**_base_env(data_dir, url), "SCRAPY_SETTINGS_MODULE": "crawler.settings"}
        args = [sys.executable, "-m", "bench.crawl.profiled", str(prof), str(usage)]
        args += ["crawl", "feeds", "-a", "all=true"]
        _timed(args, env, self.log)
        return stages(pstats.Stats(str(prof)), json.loads(usage.read_text()))


# Functions whose cumulative time is a stage of the crawl process, matched by file and name.
STAGES: list[tuple[str, str, str]] = [
    ("feed parsing (feedparser, known-story lookup)", "crawler/spiders/feeds.py", "parse_feed"),
    ("article callback + extraction hand-off", "crawler/spiders/feeds.py", "parse_article"),
    ("normalise", "crawler/pipelines/normalize.py", "process_item"),
    ("dedup (signatures)", "crawler/pipelines/dedupe.py", "process_item"),
    ("store batches (dedup index, events, commits)", "crawler/pipelines/store.py", "_store_batch"),
    ("  of which commits", "sqlalchemy/orm/session.py", "commit"),
    ("event layer: signatures (in dedup)", "crawler/events/signature.py", "signature_of"),
    ("event layer: placement (in store)", "crawler/events/index.py", "place"),
]


def stages(stats: pstats.Stats, usage: dict[str, float]) -> dict[str, float]:
    table: dict[str, float] = {}
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = stats.stats  # type: ignore[attr-defined]
    for label, path, name in STAGES:
        table[label] = sum(
            cumulative
            for (file, _line, function), (_cc, _nc, _tt, cumulative, _callers) in raw.items()
            if file.endswith(path) and function == name
        )
    ours = sorted(
        (
            (cumulative, f"{file.rsplit('/', 2)[-2]}/{file.rsplit('/', 1)[-1]}:{function}")
            for (file, _line, function), (_cc, _nc, _tt, cumulative, _callers) in raw.items()
            if "/crawler/" in file or "/db/" in file
        ),
        reverse=True,
    )
    for cumulative, where in ours[:12]:
        table[f"  top: {where}"] = cumulative
    events = (
        table["event layer: signatures (in dedup)"] + table["event layer: placement (in store)"]
    )
    own = sum(table[label] for label, _, _ in STAGES[2:5])
    table["normalise + dedup + store, event layer subtracted"] = own - events
    table["crawl process CPU (all of it)"] = usage["self_cpu"]
    table["extraction workers CPU"] = usage["children_cpu"]
    table["crawl process wall"] = usage["wall"]
    return table


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--feeds", type=int, default=40)
    parser.add_argument("--runs", type=int, default=6, help="rounds of the three crawls")
    parser.add_argument("--postgres", default=DEFAULT_PG, help="server URL (a database on it)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    postgres = None if args.no_postgres else args.postgres
    with tempfile.TemporaryDirectory(prefix="wirewatch-bench-crawl-") as tmp:
        work = Path(tmp)
        pages = work / "pages"
        pages.mkdir()
        print(f"writing {args.pages} unique pages ...", flush=True)
        site = BenchSite(Layout(args.feeds, args.pages), pages)
        with site.serving():
            bench = Bench(site, work, postgres)
            kinds: list[tuple[str, Callable[[], Measure]]] = [
                ("baseline", bench.baseline),
                ("sqlite", bench.sqlite),
            ]
            if postgres:
                kinds.append(("postgresql", bench.postgresql))
            results: dict[str, list[Measure]] = {name: [] for name, _ in kinds}
            for round_ in range(args.runs):
                order = kinds[round_ % len(kinds) :] + kinds[: round_ % len(kinds)]
                for name, run in order:
                    m = run()
                    results[name].append(m)
                    print(
                        f"round {round_ + 1} {name:<10} wall {m.wall:6.1f} s  CPU {m.cpu:6.1f} s"
                        f"  stored {m.stored}"
                        + (f"  server CPU {m.server_cpu:.1f} s" if name == "postgresql" else ""),
                        flush=True,
                    )
            profile = {} if args.no_profile else bench.profile()
    report = summary(results, args)
    if profile:
        print(
            "\nper-stage profile of one SQLite crawl (CPU seconds, crawl process under cProfile):"
        )
        for label, seconds in profile.items():
            print(f"  {label:<64} {seconds:7.2f}")
    if args.json:
        args.json.write_text(json.dumps({**report, "profile": profile}, indent=2) + "\n")
    return 0


def summary(results: dict[str, list[Measure]], args: argparse.Namespace) -> dict[str, object]:
    base_wall = median([m.wall for m in results["baseline"]])
    base_cpu = median([m.cpu for m in results["baseline"]])
    print(
        f"\n{args.feeds} feeds, {args.pages} pages, {args.runs} interleaved rounds,"
        f" {os.cpu_count()} cores; medians"
    )
    print(f"{'run':<12} {'wall s':>7} {'CPU s':>7} {'wall x':>7} {'CPU x':>7} {'stored':>7}")
    report: dict[str, object] = {"pages": args.pages, "feeds": args.feeds, "runs": args.runs}
    for name, measures in results.items():
        wall = median([m.wall for m in measures])
        cpu = median([m.cpu for m in measures])
        stored = int(median([float(m.stored) for m in measures]))
        extra = ""
        if name == "postgresql":
            extra = f"  (+ server {median([m.server_cpu for m in measures]):.1f} s CPU)"
        print(
            f"{name:<12} {wall:7.1f} {cpu:7.1f} {wall / base_wall:7.2f} {cpu / base_cpu:7.2f}"
            f" {stored:7d}{extra}"
        )
        report[name] = {"wall": wall, "cpu": cpu, "stored": stored}
    return report


if __name__ == "__main__":
    raise SystemExit(main())
