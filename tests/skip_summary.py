"""A pytest plugin: at the end of the run, the tests skipped for want of ../shared.

The shared corpora and schemas live beside the checkout, not in it (README,
"Tests"). Without them the run is still green, which hides how much went
untested: this says how many tests skipped for that reason and what they
cover (each test module's docstring), grouped by what was missing.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from functools import cache
from pathlib import Path

from _pytest.terminal import TerminalReporter


def shared_material(reason: str) -> str | None:
    """What of ../shared a skip reason says was missing, or None for other skips."""
    if "shared" not in reason.lower():
        return None
    found = re.search(r"shared/(\S+?)[;,]?(\s|$)", reason)
    if found:
        return "../shared/" + found.group(1).rstrip(".;,")
    corpus = re.search(r"shared corpus (\S+)", reason)
    if corpus:
        return "../shared/corpora/" + corpus.group(1)
    return "../shared/corpora"


@cache
def module_summary(path: str) -> str:
    """The first line of a test module's docstring: what its tests cover."""
    try:
        doc = ast.get_docstring(ast.parse(Path(path).read_text(encoding="utf-8")))
    except (OSError, SyntaxError):
        return ""
    return (doc or "").strip().splitlines()[0] if doc else ""


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    groups: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        if not isinstance(longrepr, tuple) or len(longrepr) != 3:
            continue
        reason = str(longrepr[2]).removeprefix("Skipped: ")
        material = shared_material(reason)
        if material is None:
            continue
        groups[material][report.location[0]] += 1
    if not groups:
        return
    total = sum(sum(modules.values()) for modules in groups.values())
    terminalreporter.write_sep(
        "=", f"{total} tests skipped for want of ../shared (see README, Tests)", yellow=True
    )
    for material, modules in sorted(groups.items()):
        terminalreporter.write_line(f"{sum(modules.values())} without {material}:")
        for module, count in sorted(modules.items(), key=lambda item: (-item[1], item[0])):
            summary = module_summary(str(Path(terminalreporter.startpath) / module))
            terminalreporter.write_line(f"  {count:4d}  {module}: {summary}")
