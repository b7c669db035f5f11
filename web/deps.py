"""Request-scoped dependencies: a database session (or the factory), settings, templates, tokens.

A handler that writes takes ``UnitOfWorkDep``: one transaction for the whole
request, committed when the handler returns (before the response is sent, so
a client never sees success for a change that was not stored) and rolled back
when it raises. Handlers never commit themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from alerts.tokens import Tokens
from core.settings import Settings
from db.session import unit_of_work
from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from web.locale import LocalizedTemplates


def get_session(request: Request) -> Iterator[Session]:
    """For reading: nothing the handler does is committed."""
    with request.app.state.sessions() as session:
        yield session


def get_unit_of_work(request: Request) -> Iterator[Session]:
    """The request's one transaction: committed if the handler returns, else rolled back."""
    with unit_of_work(request.app.state.sessions) as session:
        yield session


def get_factory(request: Request) -> sessionmaker[Session]:
    """For calls that run several short transactions (search with indexing, exports)."""
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_tokens(request: Request) -> Tokens:
    """The app's signer of subscription links and of the subscription forms' CSRF tokens."""
    tokens: Tokens = request.app.state.tokens
    return tokens


def get_templates(request: Request) -> LocalizedTemplates:
    templates: LocalizedTemplates = request.app.state.templates
    return templates


SessionDep = Annotated[Session, Depends(get_session)]
# scope="function": the commit runs when the handler returns, before the response goes out.
UnitOfWorkDep = Annotated[Session, Depends(get_unit_of_work, scope="function")]
FactoryDep = Annotated[sessionmaker[Session], Depends(get_factory)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
TemplatesDep = Annotated[LocalizedTemplates, Depends(get_templates)]
TokensDep = Annotated[Tokens, Depends(get_tokens)]
