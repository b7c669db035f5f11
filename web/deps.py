"""Request-scoped dependencies: a database session (or the factory), the settings, the templates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from core.settings import Settings
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_factory(request: Request) -> sessionmaker[Session]:
    """For calls that run several short transactions (search with indexing, exports)."""
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_templates(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


SessionDep = Annotated[Session, Depends(get_session)]
FactoryDep = Annotated[sessionmaker[Session], Depends(get_factory)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
