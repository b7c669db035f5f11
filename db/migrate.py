"""Run Alembic migrations from code: `wirewatch init`, the web pre-start and tests use it.

Alembic itself is imported only where a migration runs: every CLI command
checks the schema, and importing Alembic and loading every migration script for
that cost about 0.4 s of each `wirewatch crawl`. The check reads the scripts'
revision identifiers as literals instead (``code_head``), and the database's
revision is one query.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from db.session import make_engine

if TYPE_CHECKING:
    from alembic.config import Config

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
VERSIONS_DIR = Path(__file__).with_name("migrations") / "versions"
VERSION_TABLE = "alembic_version"  # Alembic's default, which db/migrations/env.py keeps


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Create or migrate the schema; safe to run on every start."""
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


def check(database_url: str) -> None:
    """Raise if the models and the migrations have drifted apart."""
    from alembic import command

    command.check(alembic_config(database_url))


def revisions(database_url: str) -> tuple[str | None, str]:
    """The schema revision the database is at (None: never initialised) and the code's head."""
    head = code_head()
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            current = database_revision(connection)
    finally:
        engine.dispose()
    return current, head


def database_revision(connection: Connection) -> str | None:
    """The revision in the database's version table (None: no table, or no row), as
    Alembic's ``MigrationContext.get_current_revision`` reads it; Alembic itself
    answers (and raises) when the table holds several heads."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(connection).get_current_revision()
    return rows[0] if rows else None


def code_head() -> str:
    """The head revision of the migration scripts, as Alembic would name it.

    Alembic imports every script to learn it; the scripts' own identifiers, read
    as literals, give the same answer for a plain chain of revisions in about a
    hundredth of the time. Anything else (a merge, a branch label, a dependency,
    an identifier that is not a literal) is left to Alembic.
    """
    head = linear_head(VERSIONS_DIR)
    if head is not None:
        return head
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def linear_head(directory: Path) -> str | None:
    """The last revision of the scripts in ``directory`` when they form one plain chain
    (each names one down revision, or none for the first); None otherwise."""
    down_of: dict[str, str | None] = {}
    for script in directory.glob("*.py"):
        if script.name == "__init__.py" or script.name.startswith(".#"):
            continue  # not revisions to Alembic either
        names = _literals(script)
        revision, down = names.get("revision"), names.get("down_revision")
        if not isinstance(revision, str) or revision in down_of:
            return None
        if not (down is None or isinstance(down, str)) or "down_revision" not in names:
            return None
        if names.get("branch_labels") is not None or names.get("depends_on") is not None:
            return None
        down_of[revision] = down
    downs = set(down_of.values())
    if downs - set(down_of) - {None} or list(down_of.values()).count(None) != 1:
        return None
    heads = set(down_of) - downs
    if len(heads) != 1 or len(downs) != len(down_of):  # two scripts on one down: a branch
        return None
    return heads.pop()


_NAMES = frozenset({"revision", "down_revision", "branch_labels", "depends_on"})


def _literals(script: Path) -> dict[str, object]:
    """The script's module-level assignments of Alembic's names, where they are literals."""
    found: dict[str, object] = {}
    try:
        tree = ast.parse(script.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return found
    for node in tree.body:
        targets: list[ast.expr]
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        elif isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in _NAMES:
                try:
                    found[target.id] = ast.literal_eval(value)
                except ValueError:
                    found[target.id] = _NOT_LITERAL
    return found


_NOT_LITERAL = object()
