"""`wirewatch demo`'s digest lists each event of the demo manifest once.

The fixture site's manifest marks which articles report one event (a Russian,
an English and a Tajik report of one office opening, a reprint). The demo
crawls the site and its Telegram channel previews, matches the default topic
and writes one digest to the outbox; every manifest event must appear in
exactly one of its entries (as the headline or among "also reported by").
Telegram posts are not in the manifest: an entry holding only posts is not
counted, but a post listed with an article counts for that article's event.
"""

from __future__ import annotations

import re
from email import message_from_binary_file, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from cli import _register_commands, app
from cli.common import reset_context
from cli.context import AppContext
from core.settings import Settings
from wirewatch.demo_site.manifest import load_manifest

_register_commands()

_ENTRY_START = re.compile(r"^\d+\. ", re.MULTILINE)
_URL = re.compile(r"https?://\S+")


def _entries(text: str) -> list[str]:
    starts = [m.start() for m in _ENTRY_START.finditer(text)]
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


def _site_key(url: str) -> str:
    """``<outlet>/<path>[?query]``, the manifest's key form, of a fixture-site address."""
    parts = urlsplit(url)
    return parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")


@pytest.mark.slow
def test_demo_digest_lists_each_manifest_event_once(tmp_path: Path) -> None:
    reset_context(AppContext(settings=Settings(data_dir=tmp_path)))
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    mails = sorted((tmp_path / "demo" / "outbox").glob("*.eml"))
    assert len(mails) == 1, result.output
    with mails[0].open("rb") as handle:
        message = message_from_binary_file(handle, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()

    event_of = {s.key: s.event or s.key for s in load_manifest().on_beat()}
    entries_of: dict[str, list[int]] = {event: [] for event in event_of.values()}
    for number, entry in enumerate(_entries(text), start=1):
        events = {event_of[k] for k in map(_site_key, _URL.findall(entry)) if k in event_of}
        assert len(events) <= 1, f"entry {number} joins events {sorted(events)}:\n{entry}"
        for event in events:
            entries_of[event].append(number)
    listed = {event: numbers for event, numbers in entries_of.items() if len(numbers) != 1}
    assert not listed, f"manifest events not listed exactly once (entry numbers): {listed}"
