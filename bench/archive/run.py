"""Archive search latency at scale, on SQLite and PostgreSQL, against a naive baseline.

Loads the stories written by ``bench.archive.generate`` into a fresh database,
builds the full-text index (timed), prints its size on disk, then runs the
typical queries, each a few hundred times with different words taken from
random stored stories:

* ``and``: 2–3 words of one story, AND (newest first, 20 results);
* ``phrase``: two adjacent words (of four letters or more) of one story as a phrase;
* ``range``: one word plus a 30-day date range;
* ``newest``: one frequent word, newest first, 20 results;
* ``stopword-phrase`` (not a typical query, the hardest one, reported apart): two
  adjacent words of which one is short ("он может", "of the").

Each query goes through ``db.search.search`` (the code the web app, the API
and the CLI use), including snippets and "why it matched". The baseline is
the same full-text index used the plain way: every match joined to its story
and sorted by date, fetching the page's columns (no highlighting). Ratios are
baseline / wirewatch.

    .venv/bin/python -m bench.archive.run --data data/bench/archive-1m.jsonl.gz \\
        --sqlite data/bench/archive.db --postgres postgresql+psycopg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text
from sqlalchemy.engine import make_url

from core.query import parse
from core.query.normalize import WORD_RE
from db.migrate import upgrade
from db.models import Cluster, Source, SourceKind, Story
from db.search import SearchRequest, search
from db.search.indexer import rebuild
from db.search.plan import lower
from db.search.render import Fts5Renderer, TsqueryRenderer
from db.session import make_engine, make_sessionmaker, unit_of_work

BATCH = 5_000
# What a page shows, fetched by the baseline too (it does no highlighting).
PAGE_COLUMNS = "s.id, s.title, s.body, s.canonical_url, s.published_at, src.name"
TARGET_P95_MS = 50.0


def _stories(path: Path, limit: int) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for n, line in enumerate(lines):
            if n >= limit:
                return
            yield json.loads(line)


def _fresh(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    admin = make_engine(str(parsed.set(database="postgres")), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def load(url: str, data: Path, limit: int) -> tuple[Engine, float, float, int]:
    """Fresh database with the stories; returns (engine, load seconds, index seconds, count)."""
    _fresh(url)
    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    started = time.perf_counter()
    sources: dict[str, int] = {}
    clusters: dict[int, int] = {}
    batch: list[dict[str, Any]] = []
    count = 0

    def flush() -> None:
        with unit_of_work(factory) as session:
            session.execute(insert(Story), batch)
        batch.clear()

    with unit_of_work(factory) as session:
        # the index is built once at the end: no per-row queueing during the load
        _set_triggers(session.connection(), enabled=False)
    for story in _stories(data, limit):
        name = str(story["source"])
        if name not in sources:
            with unit_of_work(factory) as session:
                source = Source(
                    name=name,
                    kind=SourceKind.FEED,
                    url=f"https://{name}.example/rss",
                    language=story["lang"],
                )
                session.add(source)
                session.flush()
                sources[name] = source.id
        cluster = story["cluster"]
        if cluster is not None and cluster not in clusters:
            with unit_of_work(factory) as session:
                row = Cluster(size=2, languages={str(story["lang"]): 1})
                session.add(row)
                session.flush()
                clusters[cluster] = row.id
        fetched = datetime.fromisoformat(str(story["fetched"]))
        published = datetime.fromisoformat(str(story["published"])) if story["published"] else None
        batch.append(
            {
                "url_key": f"{story['id']:064x}",
                "canonical_url": story["url"],
                "url": story["url"],
                "source_id": sources[name],
                "title": story["title"],
                "body": story["body"],
                "summary": "",
                "authors": [],
                "language": story["lang"],
                "published_at": published,
                "published_estimated": False,
                "fetched_at": fetched,
                "fingerprint": f"{story['id']:064x}",
                "version": 1,
                "canonicalizer_version": 1,
                "cluster_id": clusters.get(cluster) if cluster is not None else None,
            }
        )
        count += 1
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    with engine.begin() as conn:
        rebuild(conn)
        _set_triggers(conn, enabled=True)
    indexed = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return engine, loaded, indexed, count


def _set_triggers(conn: Any, *, enabled: bool) -> None:
    from db.search import schema

    if conn.dialect.name == "postgresql":
        state = "ENABLE" if enabled else "DISABLE"
        for name in schema.PG_TRIGGERS:
            conn.execute(text(f"ALTER TABLE stories {state} TRIGGER {name}"))
    elif enabled:
        schema.ensure_triggers(conn)
    else:
        for name in schema.SQLITE_TRIGGERS:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))


def size_report(engine: Engine, url: str) -> dict[str, float]:
    mib = 1024 * 1024
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            index = conn.execute(text("SELECT pg_total_relation_size('search_docs')")).scalar_one()
            stories = conn.execute(text("SELECT pg_total_relation_size('stories')")).scalar_one()
            total = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        else:
            path = make_url(url).database or ""
            total = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
            try:
                index = conn.execute(
                    text(
                        "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'search_%' "
                        "OR name LIKE 'sqlite_autoindex_search_%'"
                    )
                ).scalar_one()
                stories = conn.execute(
                    text(
                        "SELECT sum(pgsize) FROM dbstat WHERE name = 'stories' "
                        "OR name LIKE 'ix_stories_%' OR name LIKE 'sqlite_autoindex_stories%'"
                    )
                ).scalar_one()
            except Exception:  # noqa: BLE001 - dbstat is optional in SQLite builds
                index = stories = 0
    return {"index_mib": index / mib, "stories_mib": stories / mib, "total_mib": total / mib}


def query_sets(engine: Engine, rng: random.Random, per_kind: int) -> dict[str, list[SearchRequest]]:
    """Queries made of words of random stored stories, so each has results."""
    with engine.connect() as conn:
        top = conn.execute(text("SELECT max(id) FROM stories")).scalar_one()
        lo_date, hi_date = conn.execute(
            text("SELECT min(fetched_at), max(fetched_at) FROM stories")
        ).one()
        if isinstance(lo_date, str):
            lo_date, hi_date = datetime.fromisoformat(lo_date), datetime.fromisoformat(hi_date)
        sample = conn.execute(
            text("SELECT title, body FROM stories WHERE id IN :ids").bindparams(
                __import__("sqlalchemy").bindparam("ids", expanding=True)
            ),
            {"ids": [rng.randint(1, top) for _ in range(per_kind * 6)]},
        ).all()
    texts = [f"{title} {body}" for title, body in sample]

    def words(text_: str) -> list[str]:
        return [w for w in WORD_RE.findall(text_) if len(w) >= 4 and not w.isdigit()]

    sets: dict[str, list[SearchRequest]] = {
        "and": [],
        "phrase": [],
        "range": [],
        "newest": [],
        "stopword-phrase": [],
    }
    for text_ in texts:
        ws = words(text_)
        if len(ws) < 6:
            continue
        all_words = WORD_RE.findall(text_)
        pairs = list(pairwise(all_words))
        if len(sets["and"]) < per_kind:
            picked = rng.sample(ws, rng.choice((2, 3)))
            sets["and"].append(SearchRequest(query=" AND ".join(_quote(w) for w in picked)))
        elif len(sets["phrase"]) < per_kind:
            content = [p for p in pairs if all(len(w) >= 4 and not w.isdigit() for w in p)]
            if content:
                sets["phrase"].append(
                    SearchRequest(query='"' + " ".join(rng.choice(content)) + '"')
                )
        elif len(sets["stopword-phrase"]) < per_kind // 2:
            # any two adjacent words, "он может", "of the": not typical, but the hardest
            short = [
                p for p in pairs if any(len(w) <= 3 for w in p) and all(len(w) >= 2 for w in p)
            ]
            if short:
                pair = rng.choice(short)
                sets["stopword-phrase"].append(SearchRequest(query='"' + " ".join(pair) + '"'))
        elif len(sets["range"]) < per_kind:
            start = lo_date + (hi_date - lo_date) * rng.random()
            sets["range"].append(
                SearchRequest(
                    query=_quote(rng.choice(ws)), since=start, until=start + timedelta(days=30)
                )
            )
        elif len(sets["newest"]) < per_kind:
            counts: dict[str, int] = {}
            for w in ws:
                counts[w] = counts.get(w, 0) + 1
            frequent = max(counts, key=lambda w: counts[w])
            sets["newest"].append(SearchRequest(query=_quote(frequent)))
    return sets


def _quote(word: str) -> str:
    return '"' + word.replace('"', "") + '"'


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return pick(0.50), pick(0.95), pick(0.99)


def run_wirewatch(engine: Engine, request: SearchRequest) -> float:
    factory = make_sessionmaker(engine)
    started = time.perf_counter()
    with factory() as session:
        search(session, request)
    return (time.perf_counter() - started) * 1000


def run_baseline(engine: Engine, request: SearchRequest) -> float:
    """The index used plainly: every match joined to its story and sorted by date."""
    query = parse(request.query)
    plan = lower(query.root, {})
    when = "coalesce(s.published_at, s.fetched_at)"
    params: dict[str, Any] = {}
    date_filter = ""
    if request.since is not None and request.until is not None:
        date_filter = f" AND {when} >= :since AND {when} < :until"
        params["since"], params["until"] = request.since, request.until
    if engine.dialect.name == "postgresql":
        params["m"] = TsqueryRenderer().render(plan).expr
        sql = (
            f"SELECT {PAGE_COLUMNS} FROM search_docs d JOIN stories s ON s.id = d.story_id "
            "LEFT JOIN sources src ON src.id = s.source_id "
            f"WHERE d.tsv @@ CAST(:m AS tsquery){date_filter} ORDER BY {when} DESC LIMIT 20"
        )
    else:
        params["m"] = Fts5Renderer().render(plan).expr
        sql = (
            f"SELECT {PAGE_COLUMNS} FROM search_fts f JOIN search_docs d ON d.sort_key = f.rowid "
            "JOIN stories s ON s.id = d.story_id LEFT JOIN sources src ON src.id = s.source_id "
            f"WHERE search_fts MATCH :m{date_filter} ORDER BY {when} DESC LIMIT 20"
        )
    started = time.perf_counter()
    with engine.connect() as conn:
        conn.execute(text(sql), params).all()
    return (time.perf_counter() - started) * 1000


def measure(
    name: str, engine: Engine, sets: dict[str, list[SearchRequest]], baseline_share: int
) -> bool:
    ok = True
    print(
        f"\n{name}: latency in ms (p50 / p95 / p99), {len(next(iter(sets.values())))} queries each"
    )
    for kind, requests in sets.items():
        for request in requests[:5]:  # warm the caches the way a running server has them
            run_wirewatch(engine, request)
        ours = [run_wirewatch(engine, r) for r in requests]
        base = [run_baseline(engine, r) for r in requests[:baseline_share]]
        p50, p95, p99 = _percentiles(ours)
        b50, b95, b99 = _percentiles(base)
        typical = kind != "stopword-phrase"
        verdict = "ok" if p95 <= TARGET_P95_MS else f"OVER the {TARGET_P95_MS:.0f} ms target"
        ok = ok and (p95 <= TARGET_P95_MS or not typical)
        print(
            f"  {kind:15s} wirewatch {p50:7.1f} {p95:7.1f} {p99:7.1f}   "
            f"baseline {b50:7.1f} {b95:7.1f} {b99:7.1f}   "
            f"p95 ratio {b95 / p95 if p95 else float('inf'):6.1f}x   {verdict}"
        )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--n", type=int, default=10**9, help="load at most this many stories")
    parser.add_argument("--sqlite", help="SQLite file to (re)create", default=None)
    parser.add_argument("--postgres", help="PostgreSQL URL of a database to (re)create")
    parser.add_argument("--queries", type=int, default=300, help="queries per kind")
    parser.add_argument("--baseline", type=int, default=60, help="of which run on the baseline")
    parser.add_argument("--reuse", action="store_true", help="skip loading: the databases exist")
    parser.add_argument("--load-only", action="store_true", help="load and index, then stop")
    args = parser.parse_args(argv)
    targets: list[tuple[str, str]] = []
    if args.sqlite:
        targets.append(("SQLite", f"sqlite:///{Path(args.sqlite).resolve()}"))
    if args.postgres:
        targets.append(("PostgreSQL", args.postgres))
    ok = True
    for name, url in targets:
        if args.reuse:
            engine = make_engine(url)
            with engine.connect() as conn:
                count = conn.execute(text("SELECT count(*) FROM stories")).scalar_one()
            print(f"{name}: reusing {count:,} stories")
        else:
            engine, loaded, indexed, count = load(url, args.data, args.n)
            print(
                f"{name}: {count:,} stories loaded in {loaded:.0f} s; "
                f"index built in {indexed:.0f} s ({count / indexed:,.0f} stories/s)"
            )
        sizes = size_report(engine, url)
        print(
            f"{name}: on disk {sizes['total_mib']:,.0f} MiB in all; "
            f"search index {sizes['index_mib']:,.0f} MiB, stories table {sizes['stories_mib']:,.0f} MiB"
        )
        if args.load_only:
            engine.dispose()
            continue
        sets = query_sets(engine, random.Random(11), args.queries)
        ok = measure(name, engine, sets, args.baseline) and ok
        engine.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
