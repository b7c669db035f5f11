"""Registers every command group on the `wirewatch` app."""

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


def register(app: typer.Typer) -> None:
    for name in MODULES:
        importlib.import_module(name).register(app)
