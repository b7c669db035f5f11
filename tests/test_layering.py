"""The tree is the data flow: enforce who may import whom.

core (the foundation) at the bottom; sources → crawler → db → alerts → email
above it, with the scheduler driving; the application services (wirewatch/)
above that; web and the CLI on top as thin callers. Each package's ruff.toml
lists what it may not import (ruff's TID251), and these tests read the same
lists. Nothing imports web; web never imports Scrapy (a
crawl in the web process would hit ReactorNotRestartable): it may only start
crawls through ``crawler.runner``, which spawns a child process.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("core", "db", "crawler", "alerts", "scheduler", "wirewatch", "web", "cli")


def _banned(package: str) -> set[str]:
    """What the package's own ruff.toml bans: the lint rule and this test share one list."""
    config = tomllib.loads((ROOT / package / "ruff.toml").read_text(encoding="utf-8"))
    return set(config["lint"]["flake8-tidy-imports"]["banned-api"])


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_every_package_but_the_roof_has_import_rules() -> None:
    ruled = {path.parent.name for path in ROOT.glob("*/ruff.toml")}
    assert ruled == set(PACKAGES) - {"cli"}


def test_the_foundation_imports_no_other_part() -> None:
    assert set(PACKAGES) - {"core"} <= _banned("core")


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "cli"])
def test_import_direction(package: str) -> None:
    banned = _banned(package)
    offenders = []
    for path in (ROOT / package).rglob("*.py"):
        bad = _imports(path) & banned
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, "\n".join(offenders)


def test_no_import_runs_back_up() -> None:
    """Each package may import only packages below it in PACKAGES' order."""
    for lower, package in enumerate(PACKAGES):
        if package == "cli":
            continue
        above = {p for p in PACKAGES[lower + 1 :] if p not in ("crawler", "alerts")}
        if package == "crawler":
            above |= {"alerts"}
        if package == "alerts":
            above |= {"crawler"}
        assert above <= _banned(package), f"{package} may import {sorted(above - _banned(package))}"


def test_ruff_enforces_the_same_rules() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--select",
            "TID251",
            "--output-format",
            "concise",
            ".",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_web_process_never_loads_scrapy() -> None:
    import subprocess
    import sys

    code = "import sys, web.app; print(sorted(m for m in sys.modules if m.split('.')[0] in ('scrapy', 'twisted')))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout
