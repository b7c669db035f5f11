"""Flags in `--help` without a stray ``<bool>``.

Typer's rich help prints each option's type beside it, and for an on/off flag
(``--dry-run``, ``--help``) that type is ``<bool>``: a value the flag does not
take, which reads as if ``--dry-run <bool>`` were how to write it. Options that
take a value keep their type (``<int>``, ``<str>``).
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperOption

_type_column = TyperOption.display_type_rich


def _flag_aware_type_column(self: TyperOption, ctx: Any) -> str | None:
    if self.is_flag and self.metavar is None:
        return None
    return _type_column(self, ctx)


def install() -> None:
    """Make every command's rich help leave the type column empty for flags."""
    TyperOption.display_type_rich = _flag_aware_type_column  # type: ignore[method-assign]
