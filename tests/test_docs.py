"""Docs stay true: every setting documented, the CLI reference matches --help."""

from __future__ import annotations

import os
import re

import pytest

from core.settings import Settings
from tests.conftest import ROOT

ALIASES = {
    "sendgrid_api_key": "SENDGRID_API_KEY",
    "sendgrid_host": "SENDGRID_HOST",
    "smtp_url": "SMTP_URL",
}


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    env = ALIASES.get(name, f"WIREWATCH_{name.upper()}")
    assert f"`{name}`" in doc, f"setting {name} missing from docs/configuration.md"
    assert f"`{env}`" in doc, f"variable {env} missing from docs/configuration.md"


def test_documented_settings_exist() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    names = set(re.findall(r"^\| `([a-z_]+)` \|", doc, flags=re.MULTILINE))
    assert names <= set(Settings.model_fields), names - set(Settings.model_fields)


def test_cli_reference_is_current(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("TERM", "dumb")
    from cli.reference import render

    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == render(), "docs/cli.md is stale: python -m cli.reference > docs/cli.md"


def test_readme_names_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
