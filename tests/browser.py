"""Headless Chromium for the browser tests: Debian's package, driven by playwright (no tests here).

The tests use the distribution's browser rather than one playwright downloads,
so a machine without it skips them, unless ``WIREWATCH_REQUIRE_BROWSER=1``
(set by ``.ci/run``) makes a missing browser a failure instead of a silent skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _executable_or_skip() -> str:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    if os.environ.get("WIREWATCH_REQUIRE_BROWSER") == "1":
        pytest.fail("chromium is not installed (mandatory because WIREWATCH_REQUIRE_BROWSER=1)")
    pytest.skip("chromium is not installed (apt-get install chromium)")


@contextmanager
def chromium() -> Iterator[Browser]:
    """A launched headless Chromium, closed on the way out; skips the test if there is none."""
    executable = _executable_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
