"""Bring the database in line with the sources and topics files users edit.

Every entry goes through the catalog's rules (``wirewatch.catalog``), the same
ones the CLI and the web app apply: a bad name, slug or URL is refused here,
and a broken query with the position of the mistake, never discovered at send
time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from core.errors import ConfigError
from sqlalchemy.orm import Session

from wirewatch import catalog
from wirewatch.catalog import CatalogError


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


def load_sources(session: Session, path: Path, *, default_interval: int = 30) -> LoadReport:
    """Add or redefine every source in the file, by the catalog's rules (in the caller's
    transaction: one refused entry and the file changes nothing).

    The file is the operator's own, so hosts are not looked up here; every
    fetch vets the addresses it connects to anyway.
    """
    created = updated = 0
    for number, item in enumerate(read_yaml_list(path, "sources"), 1):
        try:
            spec = catalog.check_source(
                name=str(item["name"]),
                url=str(item["url"]),
                kind=str(item.get("kind", "feed")),
                language=_text(item.get("language")),
                interval_minutes=item.get("interval"),
                homepage=_text(item.get("homepage")),
                enabled=bool(item.get("enabled", True)),
                link_rules=item.get("links"),
                default_interval=default_interval,
                policy=None,
            )
        except KeyError as exc:
            raise ConfigError(f"{path}: source {number} lacks {exc.args[0]!r}") from exc
        except CatalogError as exc:
            raise ConfigError(f"{path}: source {number} ({item.get('name')}): {exc}") from exc
        _, was_created = catalog.save_source(session=session, spec=spec)
        created += was_created
        updated += not was_created
    return LoadReport(created, updated)


def load_topics(session: Session, path: Path) -> LoadReport:
    """Add or redefine every topic in the file, by the catalog's rules (every query parsed)."""
    created = updated = 0
    for number, item in enumerate(read_yaml_list(path, "topics"), 1):
        try:
            spec = catalog.check_topic(
                slug=str(item["slug"]),
                name=str(item["name"]),
                query=str(item["query"]),
                definition=str(item.get("definition", "")),
            )
        except KeyError as exc:
            raise ConfigError(f"{path}: topic {number} lacks {exc.args[0]!r}") from exc
        except CatalogError as exc:
            raise ConfigError(f"{path}: topic {number}: {exc}") from exc
        _, was_created = catalog.save_topic(session=session, spec=spec)
        created += was_created
        updated += not was_created
    return LoadReport(created, updated)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
