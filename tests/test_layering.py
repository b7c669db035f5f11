"""The tree is the data flow: enforce who may import whom.

sources → crawler → db → alerts → email, with the scheduler driving; web and
the CLI are thin callers. Nothing imports web; web never imports Scrapy (a
crawl in the web process would hit ReactorNotRestartable): it may only start
crawls through ``crawler.runner``, which spawns a child process.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

# package -> packages it must never import
FORBIDDEN = {
    "db": {"crawler", "alerts", "scheduler", "web", "scrapy", "fastapi"},
    "alerts": {"crawler", "scheduler", "web", "scrapy"},
    "crawler": {"scheduler", "web", "fastapi"},
    "scheduler": {"web", "scrapy"},
    "web": {"scrapy", "twisted", "scheduler"},
    "wirewatch": {"web"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_import_direction(package: str) -> None:
    offenders = []
    for path in (ROOT / package).rglob("*.py"):
        if "migrations" in path.parts and package == "db":
            continue
        bad = _imports(path) & FORBIDDEN[package]
        if package == "wirewatch" and path.parts[-2] == "cli":
            continue  # the CLI is a thin caller of everything except web
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, "\n".join(offenders)


def test_web_process_never_loads_scrapy() -> None:
    import subprocess
    import sys

    code = "import sys, web.app; print(sorted(m for m in sys.modules if m.split('.')[0] in ('scrapy', 'twisted')))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout
