"""Shared helpers for commands: the context, error reporting, date options."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import typer

from cli.context import AppContext
from core.errors import WirewatchError

_context: AppContext | None = None


def ctx() -> AppContext:
    global _context
    if _context is None:
        _context = AppContext()
    return _context


def reset_context(context: AppContext | None = None) -> None:
    """Tests install their own context (settings, consoles) here."""
    global _context
    _context = context


@contextmanager
def user_errors() -> Iterator[None]:
    """Print wirewatch's own errors as one clear line and exit 1, not as a traceback."""
    try:
        yield
    except WirewatchError as exc:
        ctx().err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(1) from exc


def parse_since(value: str | None) -> datetime | None:
    """``2026-11-01``, ``2026-11-01T10:00``, or a span back from now: ``7d``, ``12h``."""
    if value is None:
        return None
    text = value.strip().lower()
    units = {"d": "days", "h": "hours", "w": "weeks", "m": "minutes"}
    if text[:-1].isdigit() and text[-1:] in units:
        return datetime.now(UTC) - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r} is not a date (use 2026-11-01, 2026-11-01T10:00 or 7d / 12h)"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
