"""Registers every command group on the `wirewatch` app."""

from __future__ import annotations

import importlib

import typer

# Each module defines ``register(app)``; order is the order of `--help`.
MODULES = (
    "wirewatch.cli.service",
    "wirewatch.cli.crawl",
    "wirewatch.cli.archive",
    "wirewatch.cli.stories",
    "wirewatch.cli.subscriptions",
    "wirewatch.cli.catalog",
    "wirewatch.cli.extract",
    "wirewatch.cli.dedup",
    "wirewatch.cli.match",
    "wirewatch.cli.demo",
)


def register(app: typer.Typer) -> None:
    for name in MODULES:
        importlib.import_module(name).register(app)
