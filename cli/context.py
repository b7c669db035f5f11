"""What every command needs: settings, a database, a console; created on first use."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.errors import SchemaOutOfDateError
from core.settings import Settings, get_settings
from db.migrate import revisions, upgrade
from db.session import make_engine, make_sessionmaker


@dataclass
class AppContext:
    settings: Settings = field(default_factory=get_settings)
    console: Console = field(default_factory=Console)
    err: Console = field(default_factory=lambda: Console(stderr=True))

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def factory(self) -> sessionmaker[Session]:
        return make_sessionmaker(self.engine)

    def migrate(self) -> None:
        """Create or upgrade the schema: only ``init``, ``run``, ``web``, ``scheduler`` and
        ``demo`` do this, so a read-only command never changes a database."""
        upgrade(self.settings.database_url)

    def require_schema(self) -> None:
        """Refuse to work on a database that was never initialised or is out of date."""
        current, head = revisions(self.settings.database_url)
        if current == head:
            return
        where = self.settings.redacted().get("database_url", "the database")
        if current is None:
            raise SchemaOutOfDateError(f"{where} is not initialised: run `wirewatch init` first")
        raise SchemaOutOfDateError(
            f"{where} is at schema revision {current}, this version needs {head}: "
            "run `wirewatch init` to upgrade it"
        )
