"""`scrapy crawl feeds` from the repository root works with wirewatch's own settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.settings import Settings
from db import queries
from db.models import CrawlRun, CrawlStatus, Story
from db.session import make_engine, make_sessionmaker, unit_of_work
from tests.conftest import ROOT
from wirewatch.demo_site.manifest import load_manifest
from wirewatch.demo_site.server import FixtureSite

pytestmark = pytest.mark.slow


def test_scrapy_crawl_feeds_from_the_repo_root(tmp_path: Path, database_url: str) -> None:
    manifest = load_manifest()
    outlet = manifest.outlets[1]
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        allow_private_hosts=["127.0.0.1"],
        download_delay=0,
    )
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    with FixtureSite() as site:
        with unit_of_work(factory) as session:
            queries.upsert_source(
                session=session, name=outlet.slug, url=outlet.feed_url(site.base_url)
            )
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPY_")}
        env.update(settings.to_env())
        done = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "feeds", "-a", f"source={outlet.slug}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            check=False,
            text=True,
            timeout=180,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Story)) == len(outlet.stories)
        run = session.scalars(select(CrawlRun)).one()  # a bare scrapy crawl records its own run
        assert run.trigger == "scrapy" and run.status == CrawlStatus.SUCCEEDED
        assert run.new == len(outlet.stories)
    engine.dispose()
