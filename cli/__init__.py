"""The `wirewatch` command.

Each command group lives in its own module and registers itself on ``app``;
commands are thin: they parse options, call ``db``/``crawler``/``alerts``
functions, and print with rich.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="wirewatch",
    help="Watch the news on a beat and email subscribers when new matching stories appear.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _register_commands() -> None:
    from cli import commands, help_format

    help_format.install()

    commands.register(app)


def main() -> None:
    _register_commands()
    app()
