"""Bring the database in line with the sources and topics files users edit.

Every query is parsed before it is saved, so a broken topic is refused here
with the position of the mistake, never discovered at send time.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from core.errors import BlockedURLError, ConfigError, QueryError, SourceError
from core.netguard import AddressPolicy, check_scheme_only, vet_host
from core.query import parse
from db import queries
from db.models import SourceKind
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class LoadReport:
    created: int
    updated: int


def read_yaml_list(path: Path, key: str) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    items = data.get(key) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ConfigError(f"{path}: expected a list under '{key}:'")
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ConfigError(f"{path}: entry {number} under '{key}:' is not a mapping")
    return items


def validate_source_url(url: str, kind: SourceKind, policy: AddressPolicy | None = None) -> str:
    """The URL to store for a source, or SourceError saying why it is refused.

    With a policy (user input: the CLI, the web), the host must also resolve
    only to public addresses (or allowed ones). A name that does not resolve
    right now is accepted: every fetch checks the address again anyway.
    """
    url = url.strip()
    if kind == SourceKind.TELEGRAM:
        from crawler.telegram import telegram_preview_url

        return telegram_preview_url(url)
    try:
        check_scheme_only(url)
        if policy is not None:
            parts = urlsplit(url)
            # A name that does not resolve now is checked again at every fetch.
            with contextlib.suppress(OSError):
                vet_host(parts.hostname or "", policy, port=parts.port)
    except BlockedURLError as exc:
        raise SourceError(f"refusing {url!r}: {exc.reason}") from exc
    return url


def load_sources(session: Session, path: Path, *, default_interval: int = 30) -> LoadReport:
    created = updated = 0
    for number, item in enumerate(read_yaml_list(path, "sources"), 1):
        try:
            name = str(item["name"]).strip()
            kind = SourceKind(item.get("kind", "feed"))
            url = validate_source_url(str(item["url"]), kind)
        except KeyError as exc:
            raise ConfigError(f"{path}: source {number} lacks {exc.args[0]!r}") from exc
        except ValueError as exc:
            raise ConfigError(f"{path}: source {number}: {exc}") from exc
        except SourceError as exc:
            raise ConfigError(f"{path}: source {number} ({item.get('name')}): {exc}") from exc
        _, was_created = queries.upsert_source(
            session=session,
            name=name,
            url=url,
            kind=kind,
            homepage=item.get("homepage"),
            language=item.get("language"),
            interval_minutes=int(item.get("interval", default_interval)),
            enabled=bool(item.get("enabled", True)),
        )
        created += was_created
        updated += not was_created
    return LoadReport(created, updated)


def load_topics(session: Session, path: Path) -> LoadReport:
    created = updated = 0
    for number, item in enumerate(read_yaml_list(path, "topics"), 1):
        try:
            slug, name, query = str(item["slug"]), str(item["name"]), str(item["query"])
        except KeyError as exc:
            raise ConfigError(f"{path}: topic {number} lacks {exc.args[0]!r}") from exc
        try:
            parse(query)
        except QueryError as exc:
            raise ConfigError(f"{path}: topic {slug!r} has an invalid query: {exc}") from exc
        _, was_created = queries.upsert_topic(
            session=session,
            slug=slug,
            name=name,
            query=query,
            definition=str(item.get("definition", "")),
        )
        created += was_created
        updated += not was_created
    return LoadReport(created, updated)
