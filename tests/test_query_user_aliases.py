"""Users extend the bundled entities with their own alias file (WIREWATCH_ALIASES_FILE)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import QueryError
from core.query import Document, parse
from core.query.aliases import default_aliases
from core.settings import get_settings


@pytest.fixture
def user_aliases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "aliases.yaml"
    path.write_text(
        "entities:\n"
        "  khujand-police:\n"
        "    label: УВД Согда\n"
        "    aliases: [УВД Согдийской области, Раёсати ВКД дар вилояти Суғд]\n"
        "  dushanbe:\n"
        "    aliases: [Сталинабад]\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("WIREWATCH_ALIASES_FILE", str(path))
    get_settings.cache_clear()
    default_aliases.cache_clear()
    yield path
    get_settings.cache_clear()
    default_aliases.cache_clear()


def test_user_entities_extend_the_bundled_ones(user_aliases: Path) -> None:
    query = parse("@khujand-police AND @dushanbe")
    assert query.matches(Document(title="УВД Согдийской области направило офицера в Сталинабад"))
    assert query.matches(
        Document(title="Раёсати ВКД дар вилояти Суғд ва Душанбе")
    )  # bundled alias kept


def test_without_the_file_the_entity_is_unknown() -> None:
    default_aliases.cache_clear()
    with pytest.raises(QueryError, match="khujand-police"):
        parse("@khujand-police")
