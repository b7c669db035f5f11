"""An offline news site for the demo and the crawl tests: feeds, articles and faults.

See README.md beside this file for what it serves and how to run it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wirewatch.demo_site.manifest import SITES_ROOT, Manifest, Outlet, Story, load_manifest

if TYPE_CHECKING:
    from wirewatch.demo_site.server import FixtureSite

__all__ = ["SITES_ROOT", "FixtureSite", "Manifest", "Outlet", "Story", "load_manifest"]


def __getattr__(name: str) -> Any:
    # Imported on first use so `python -m wirewatch.demo_site.server` does not load the
    # server module twice (runpy warns when the package already imported it).
    if name == "FixtureSite":
        from wirewatch.demo_site.server import FixtureSite

        return FixtureSite
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
