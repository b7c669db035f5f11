"""The `wirewatch` command.

Each command group lives in its own module and registers itself on ``app``;
commands are thin: they parse options, call ``db``/``crawler``/``alerts``
functions, and print with rich.
"""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    name="wirewatch",
    help="Watch the news on a beat and email subscribers when new matching stories appear.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _register_commands(command: str | None = None) -> None:
    """Every command, or only ``command``'s module (see ``cli.commands``)."""
    from cli import commands, help_format

    help_format.install()

    commands.register(app, command)


def main() -> None:
    _register_commands(sys.argv[1] if len(sys.argv) > 1 else None)
    app()
