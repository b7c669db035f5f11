"""What every command needs: settings, a database, a console; created on first use."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings, get_settings
from db.migrate import upgrade
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
        upgrade(self.settings.database_url)
