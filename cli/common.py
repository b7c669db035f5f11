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


# The dates a search may name, as on the web (web/params.py): far enough from the ends of
# what datetime can hold that spans and time-zone shifts cannot overflow.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)  # exclusive: the end of 2999-12-31
_SPAN_UNITS = {"d": "days", "h": "hours", "w": "weeks", "m": "minutes"}


def parse_since(value: str | None, *, name: str = "date") -> datetime | None:
    """``2026-11-01``, ``2026-11-01T10:00``, or a span back from now: ``7d``, ``12h``.

    Anything outside 1900-01-01 .. 2999-12-31 (``99999999d`` included) is a
    ``typer.BadParameter`` naming the option, never an ``OverflowError``.
    """
    if value is None:
        return None
    text = value.strip().lower()
    if text[:-1].isdecimal() and text[-1:] in _SPAN_UNITS:
        moment = _span_back(value, int(text[:-1]), _SPAN_UNITS[text[-1]], name)
    else:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise typer.BadParameter(
                f"{name} {value!r} is not a date (use 2026-11-01, 2026-11-01T10:00 or 7d / 12h)"
            ) from exc
        moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if not EARLIEST <= moment < LATEST:
        raise typer.BadParameter(_out_of_range(name, value))
    return moment


def _span_back(value: str, amount: int, unit: str, name: str) -> datetime:
    """Now minus the span; a span reaching past what a date can hold is out of range."""
    try:
        return datetime.now(UTC) - timedelta(**{unit: amount})
    except OverflowError as exc:
        raise typer.BadParameter(_out_of_range(name, value)) from exc


def _out_of_range(name: str, value: str) -> str:
    return (
        f"{name} {value!r} is out of range: dates from {EARLIEST:%Y-%m-%d} "
        f"to {LATEST - timedelta(days=1):%Y-%m-%d}"
    )
