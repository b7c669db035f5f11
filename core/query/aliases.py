"""Named entities (``@name`` in queries) and the files that define them.

An alias file is YAML::

    entities:
      tj-interior-ministry:
        label: МВД Таджикистана          # shown in MatchResult.labels
        aliases:
          - МВД Таджикистана               # plain text: an exact phrase
          - ВКД
          - '"МВД Таджикистана"~2'         # query syntax when it has quotes or operators
        not_within:                      # optional: a word an alias finds does not count
          - '"полис* ОМС"'                 # where it is part of one of these (query syntax)

Every alias goes through the same analysis as a query phrase (folding,
stemming, transliteration), so "МВД Таджикистана" also finds "МВД
Таджикистане". ``not_within`` names the senses an alias word does not have:
a place an alias matched is dropped when a ``not_within`` pattern matched
around it (the Russian insurance "полис ОМС" is not the Tajik police
"полис"), so the entity still says where it matched and works inside NEAR.
Later files extend earlier ones: aliases and ``not_within`` patterns of an
entity already known are added; ``replace: true`` drops the earlier ones
instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError
from core.query.ast import Node

DEFAULT_ALIASES_FILE = Path(__file__).resolve().parent.parent / "data" / "aliases.yaml"
_NAME_RE = re.compile(r"[\w][\w-]*$")
# libyaml's safe loader when PyYAML was built with it: the same documents, about
# ten times faster to read (the bundled alias table and lexicon are read at the
# start of every crawl and service process).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class EntityDefinition:
    name: str
    label: str
    aliases: tuple[str, ...]
    not_within: tuple[str, ...] = ()


class AliasTable:
    """Entity definitions by name; queries parse each alias when they first use it."""

    def __init__(self, entities: Iterable[EntityDefinition] = ()) -> None:
        self._entities: dict[str, EntityDefinition] = {e.name: e for e in entities}
        # Parsed alias trees (and not_within trees) by entity name, filled by the
        # parser on first use.
        self.parsed: dict[str, Node] = {}
        self.parsed_exceptions: dict[str, Node | None] = {}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._entities

    def __len__(self) -> int:
        return len(self._entities)

    def get(self, name: str) -> EntityDefinition | None:
        return self._entities.get(name.lower())

    def names(self) -> list[str]:
        return sorted(self._entities)

    def extended(self, other: AliasTable, replace: Iterable[str] = ()) -> AliasTable:
        """This table with ``other``'s entities added (or replacing, for names in ``replace``)."""
        merged = dict(self._entities)
        replaced = set(replace)
        for name, entity in other._entities.items():
            old = merged.get(name)
            if old is None or name in replaced:
                merged[name] = entity
            else:
                aliases = tuple(dict.fromkeys(old.aliases + entity.aliases))
                not_within = tuple(dict.fromkeys(old.not_within + entity.not_within))
                merged[name] = EntityDefinition(name, old.label, aliases, not_within)
        return AliasTable(merged.values())


def load_aliases(*paths: str | Path, include_default: bool = True) -> AliasTable:
    """The bundled entities, extended by each file in ``paths`` in order."""
    table = default_aliases() if include_default else AliasTable()
    for path in paths:
        entities, replace = _read(Path(path))
        table = table.extended(AliasTable(entities), replace)
    return table


@lru_cache(maxsize=1)
def default_aliases() -> AliasTable:
    """The bundled entities, extended by the user's file (``WIREWATCH_ALIASES_FILE``) if set."""
    entities, _ = _read(DEFAULT_ALIASES_FILE)
    table = AliasTable(entities)
    from core.settings import get_settings

    extra = get_settings().aliases_file
    if extra is not None:
        user_entities, replace = _read(Path(extra))
        table = table.extended(AliasTable(user_entities), replace)
    return table


def _read(path: Path) -> tuple[list[EntityDefinition], list[str]]:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except OSError as exc:
        raise ConfigError(f"cannot read alias file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"alias file {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, Mapping) or not isinstance(raw.get("entities"), Mapping):
        raise ConfigError(f"alias file {path} must have a mapping 'entities:' at the top")
    entities: list[EntityDefinition] = []
    replace: list[str] = []
    for name, body in raw["entities"].items():
        entity, replaces = _entity(path, name, body)
        entities.append(entity)
        if replaces:
            replace.append(entity.name)
    return entities, replace


def _entity(path: Path, name: object, body: Any) -> tuple[EntityDefinition, bool]:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigError(
            f"alias file {path}: entity name {name!r} must be letters, digits and '-'"
        )
    where = f"alias file {path}, entity '{name}'"
    if isinstance(body, list):
        body = {"aliases": body}
    if not isinstance(body, Mapping):
        raise ConfigError(f"{where}: expected a mapping with 'aliases:' or a list of aliases")
    aliases = body.get("aliases")
    if not isinstance(aliases, list) or not aliases:
        raise ConfigError(f"{where}: 'aliases' must be a non-empty list of phrases")
    bad = [a for a in aliases if not isinstance(a, str) or not a.strip()]
    if bad:
        raise ConfigError(f"{where}: every alias must be a non-empty string, got {bad[0]!r}")
    label = body.get("label", aliases[0])
    if not isinstance(label, str) or not label.strip():
        raise ConfigError(f"{where}: 'label' must be a non-empty string")
    not_within = body.get("not_within", [])
    if not isinstance(not_within, list) or any(
        not isinstance(p, str) or not p.strip() for p in not_within
    ):
        raise ConfigError(f"{where}: 'not_within' must be a list of non-empty patterns")
    entity = EntityDefinition(
        name.lower(),
        label.strip(),
        tuple(a.strip() for a in aliases),
        tuple(p.strip() for p in not_within),
    )
    return entity, bool(body.get("replace", False))
