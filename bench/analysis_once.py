"""Matching and search indexing of N stored stories: analysed twice (before) or once (now).

N stories (Russian, English, Tajik; bodies of about 5,000 characters, made of
the beat data's texts) are stored in a fresh database with three topics, then
matched and indexed both ways in the same run, each on its own fresh copy:

- before: an alerts pass that only matches, then the web app's indexer (``sync``),
  which analyses every story again;
- now: an alerts pass that indexes the stories it matched from its own analyses.

Also timed, for scale: the crawl's event signature of the same stories (its
own analyses, in the crawl process, unchanged here).

    python -m bench.analysis_once --stories 300 [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.matching import match_stories
from bench.databases import scratch_postgres
from crawler.events.signature import signature_of
from db import queries
from db.migrate import upgrade
from db.models import Story
from db.search import sync
from db.session import make_engine, make_sessionmaker, unit_of_work

ROOT = Path(__file__).resolve().parent.parent
BEAT = ROOT / "tests" / "data" / "beat"
TOPICS = {
    "liaison": "(МВД OR полиция OR police OR милиса) AND (Москва OR Moscow OR Маскав)",
    "migrants": "мигрант* OR migrant* OR муҳоҷир*",
    "asia-plus": 'source:"Asia Plus" AND (Душанбе OR Dushanbe)',
}
BATCH = 500  # as match_all_pending


def stories(n: int) -> list[tuple[str, str, str]]:
    by_lang = {
        lang: [json.loads(line) for line in (BEAT / f"{lang}.jsonl").read_text().splitlines()]
        for lang in ("ru", "en", "tg")
    }
    out = []
    for i in range(n):
        lang = ("ru", "en", "tg")[i % 3]
        rows = by_lang[lang]
        first = rows[i // 3 % len(rows)]
        body = " ".join(rows[(i // 3 + k) % len(rows)]["text"] for k in range(10))
        out.append((first["title"], body, lang))
    return out


def store(factory: sessionmaker[Session], rows: list[tuple[str, str, str]]) -> None:
    base = datetime(2026, 3, 1, tzinfo=UTC)
    with unit_of_work(factory) as session:
        plus, _ = queries.upsert_source(session=session, name="Asia Plus", url="https://a.ex/rss")
        for slug, query in TOPICS.items():
            queries.upsert_topic(session=session, slug=slug, name=slug, query=query)
        for i, (title, body, lang) in enumerate(rows):
            queries.insert_story_if_new(
                session=session,
                record=queries.StoryRecord(
                    url_key=f"{i:064d}",
                    canonical_url=f"https://asiaplus.tj/{i}",
                    url=f"https://asiaplus.tj/{i}",
                    guid=None,
                    title=title,
                    summary="",
                    body=body,
                    authors=[],
                    language=lang,
                    source_id=plus.id,
                    published_at=base + timedelta(minutes=i),
                    published_estimated=False,
                    fetched_at=base + timedelta(minutes=i),
                    fingerprint=f"{i:064x}",
                    canonicalizer_version=1,
                    extraction_method="feed",
                ),
            )


def before(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as session:
        match_stories(session, session.scalars(select(Story).limit(BATCH)).all(), index=False)
    with unit_of_work(factory) as session:
        sync(session)


def now(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as session:
        match_stories(session, session.scalars(select(Story).limit(BATCH)).all())


@contextmanager
def database(postgres: str | None) -> Iterator[str]:
    if postgres is None:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            upgrade(url)
            yield url
        return
    with scratch_postgres(postgres) as url:
        upgrade(url)
        yield url


def timed(
    run: Callable[[sessionmaker[Session]], None],
    rows: list[tuple[str, str, str]],
    postgres: str | None,
) -> float:
    with database(postgres) as url:
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        store(factory, rows)
        started = time.perf_counter()
        run(factory)
        seconds = time.perf_counter() - started
        engine.dispose()
    return seconds * 1000 / len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=300)
    parser.add_argument("--postgres", help="server URL; a scratch database is made and dropped")
    parser.add_argument("--rounds", type=int, default=3, help="best of this many, each way")
    args = parser.parse_args()
    rows = stories(min(args.stories, BATCH))
    timed(now, rows[:30], args.postgres)  # warm the stemmers' caches and the imports
    started = time.perf_counter()
    for title, body, lang in rows:
        signature_of(title=title, text=body, lang=lang)
    signature_ms = (time.perf_counter() - started) * 1000 / len(rows)
    was = min(timed(before, rows, args.postgres) for _ in range(args.rounds))
    is_ = min(timed(now, rows, args.postgres) for _ in range(args.rounds))
    engine = "PostgreSQL" if args.postgres else "SQLite"
    chars = sum(len(b) for _, b, _ in rows) // len(rows)
    print(f"{engine}, {len(rows)} stories, {chars} body chars on average, ms per story:")
    print(f"  event signature (crawl process, unchanged): {signature_ms:.2f}")
    print(f"  match, then index (analysed twice):        {was:.2f}")
    print(f"  match and index (analysed once):           {is_:.2f}")
    print(f"  now / before: {is_ / was:.2f}")


if __name__ == "__main__":
    main()
