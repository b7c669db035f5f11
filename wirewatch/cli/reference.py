"""Generate docs/cli.md from the commands' own --help texts, so the reference cannot drift.

python -m wirewatch.cli.reference > docs/cli.md
"""

from __future__ import annotations

from typing import Any

import click
import typer.main

from wirewatch.cli import _register_commands, app

HEADER = """# Command reference

Generated from `--help` by `python -m wirewatch.cli.reference > docs/cli.md`;
a test fails when this file and the commands disagree.
"""


def _walk(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name in command.list_commands(click.Context(command)):
            sub = command.get_command(click.Context(command), name)
            if sub is not None and not sub.hidden:
                found += _walk(sub, [*path, name])
    return found


def render() -> str:
    _register_commands()
    root = typer.main.get_command(app)
    parts = [HEADER]
    for path, command in _walk(root, ["wirewatch"]):
        # Plain click formatting: rich would print boxes straight to the terminal.
        command.rich_markup_mode = None  # type: ignore[attr-defined]
        with click.Context(command, info_name=" ".join(path), terminal_width=100) as context:
            help_text = command.get_help(context)
        level = "#" * min(len(path) + 1, 4)
        parts.append(f"{level} `{' '.join(path)}`\n\n```text\n{help_text.rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
