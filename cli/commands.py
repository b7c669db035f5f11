"""Registers every command group on the `wirewatch` app.

Importing every command module costs about half a second of start-up (the
archive, mail, extraction and demo modules pull in their libraries), which a
`wirewatch crawl` or `wirewatch match` run would pay only to find its own
command. ``COMMANDS`` names the module of each top-level command, so a run that
names one imports only that module; help, a misspelt command or a module whose
single command would make the app a bare command (Typer runs a one-command app
as that command) get every module, as before.
"""

from __future__ import annotations

import importlib

import typer

# Each module defines ``register(app)``; order is the order of `--help`.
MODULES = (
    "cli.service",
    "cli.crawl",
    "cli.archive",
    "cli.stories",
    "cli.events",
    "cli.subscriptions",
    "cli.catalog",
    "cli.extract",
    "cli.dedup",
    "cli.match",
    "cli.demo",
)

# The top-level commands and groups each module registers (tests/test_cli.py keeps this true).
COMMANDS = {
    **dict.fromkeys(("init", "run", "web", "scheduler", "config"), "cli.service"),
    **dict.fromkeys(("crawl", "crawl-worker"), "cli.crawl"),
    "search": "cli.archive",
    "stories": "cli.stories",
    "events": "cli.events",
    **dict.fromkeys(
        ("subscribe", "unsubscribe", "subscriptions", "digest", "webhooks"), "cli.subscriptions"
    ),
    **dict.fromkeys(("sources", "topics"), "cli.catalog"),
    "extract": "cli.extract",
    "dedup": "cli.dedup",
    "match": "cli.match",
    "demo": "cli.demo",
}


def register(app: typer.Typer, command: str | None = None) -> None:
    """Every module's commands, or only ``command``'s module when that keeps ``app`` a group."""
    module = COMMANDS.get(command) if command else None
    if module is not None and app.registered_groups == [] and app.registered_commands == []:
        importlib.import_module(module).register(app)
        if app.registered_groups or len(app.registered_commands) > 1:
            return
        app.registered_commands.clear()
        app.registered_groups.clear()
    for name in MODULES:
        importlib.import_module(name).register(app)
