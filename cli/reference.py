"""Generate docs/cli.md from the commands' own --help texts, so the reference cannot drift.

python -m cli.reference > docs/cli.md
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import typer.main

from cli import _register_commands, app

HEADER = """# Command reference

Generated from `--help` by `python -m cli.reference > docs/cli.md`;
a test fails when this file and the commands disagree.
"""


def walk(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    """``command`` and every command under it, depth first, with the words that name each.

    A group is anything with a ``commands`` mapping. Typer ships its own copy
    of click, so its groups are not ``click.Group`` instances, and asking
    that would silently find no subcommands at all.
    """
    found = [(path, command)]
    if isinstance(getattr(command, "commands", None), Mapping):
        context = command.context_class(command)
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            if sub is not None and not sub.hidden:
                found += walk(sub, [*path, name])
    return found


def render() -> str:
    _register_commands()
    root = typer.main.get_command(app)
    parts = [HEADER]
    for path, command in walk(root, ["wirewatch"]):
        # Plain click formatting: rich would print boxes straight to the terminal.
        command.rich_markup_mode = None
        with command.context_class(
            command, info_name=" ".join(path), terminal_width=100
        ) as context:
            help_text = command.get_help(context)
        level = "#" * min(len(path) + 1, 4)
        parts.append(f"{level} `{' '.join(path)}`\n\n```text\n{help_text.rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
