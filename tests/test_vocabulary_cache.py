"""The pickled lexicon is the YAML-built one, and a bad cache never matters."""

from __future__ import annotations

import errno
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core import lexicon as lexicon_module
from core import vocabulary_cache
from core.lexicon import Lexicon, default_lexicon
from core.query import Document, analyze_document, parse
from core.query.aliases import AliasTable, default_aliases
from core.settings import get_settings

TEXTS = [
    "МВД Таджикистана открыло представительство в Москве",
    "ВКД намояндагӣ дар Маскав кушод",
    "The interior ministry opened an office in Moscow for labour migrants",
    "Полиция России направила офицера связи в Душанбе",
]


def _clear() -> None:
    get_settings.cache_clear()
    default_aliases.cache_clear()
    default_lexicon.cache_clear()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("WIREWATCH_DATA_DIR", str(tmp_path))
    _clear()
    yield tmp_path
    _clear()


def _cache(data_dir: Path) -> Path:
    return vocabulary_cache.cache_file(data_dir)


def _from_yaml(monkeypatch: pytest.MonkeyPatch) -> Lexicon:
    """Build it from YAML in this process, never touching the cache."""
    with monkeypatch.context() as patch:
        patch.setattr(vocabulary_cache, "location", lambda: None)
        _clear()
        built = default_lexicon()
    _clear()
    return built


def build_aliases() -> AliasTable:
    """A fresh ``default_aliases()`` table read from YAML (nothing parsed in it yet)."""
    return default_aliases.__wrapped__()


def _no_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> Any:
        raise AssertionError("built from YAML although the cache was current")

    monkeypatch.setattr(lexicon_module, "load_lexicon", refuse)


def _same(
    a: object, b: object, where: object = "", seen: set[tuple[int, int]] | None = None
) -> None:
    """Structural equality of two object graphs: types, attributes, dict order, values.

    ``where`` is a chain of (parent, step) pairs, spelt out only when a check fails;
    ``seen`` the pairs already compared (the trees share their alias expansions).
    """
    seen = set() if seen is None else seen
    if (id(a), id(b)) in seen:
        return
    seen.add((id(a), id(b)))
    if type(a) is not type(b):
        pytest.fail(f"{_spell(where)}: {type(a).__name__} != {type(b).__name__}")
    if isinstance(a, dict):
        assert isinstance(b, dict)
        if list(a) != list(b):
            pytest.fail(f"{_spell(where)}: keys differ")
        for key in a:
            _same(a[key], b[key], (where, key), seen)
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple)
        if len(a) != len(b):
            pytest.fail(f"{_spell(where)}: lengths differ")
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, (where, i), seen)
    elif isinstance(a, set | frozenset | str | bytes | int | float | bool) or a is None:
        if a != b:
            pytest.fail(f"{_spell(where)}: {a!r} != {b!r}")
    else:
        names = list(getattr(a, "__dict__", {}))
        for klass in type(a).__mro__:
            names += [n for n in getattr(klass, "__slots__", ()) if n not in names]
        if not names:
            pytest.fail(f"{_spell(where)}: {type(a).__name__} has no attributes to compare")
        for name in names:
            if not name.startswith("__"):
                _same(getattr(a, name, None), getattr(b, name, None), (where, "." + name), seen)


def _spell(where: object) -> str:
    steps: list[str] = []
    while isinstance(where, tuple):
        where, step = where
        steps.append(step if isinstance(step, str) and step.startswith(".") else f"[{step!r}]")
    return str(where) + "".join(reversed(steps))


def _same_concepts(a: Lexicon, b: Lexicon) -> None:
    assert a.concepts == b.concepts
    for text in TEXTS:
        document = analyze_document(Document(title=text))
        assert a.concepts_of(document) == b.concepts_of(document)


def test_cached_vocabulary_equals_the_yaml_built_one(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lexicon = _from_yaml(monkeypatch)
    assert not _cache(data_dir).exists()
    default_lexicon()  # built from YAML, then stored
    assert _cache(data_dir).is_file()
    _clear()
    _no_yaml(monkeypatch)
    cached_lexicon = default_lexicon()
    _same(cached_lexicon, lexicon, "lexicon")
    for text in TEXTS:
        document = analyze_document(Document(title=text))
        assert cached_lexicon.concepts_of(document) == lexicon.concepts_of(document)
        assert [(n, r.why) for n, r in cached_lexicon.match(document)] == [
            (n, r.why) for n, r in lexicon.match(document)
        ]
    # Queries parse alike whether the lexicon came from YAML or from the cache.
    query = "@tj-interior-ministry AND (Москва OR Moscow)"
    assert parse(query).root == parse(query, build_aliases()).root


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a cache at all",
        b"HEADER\x80\x05garbage",
        b"HEADER",
        b"HEADER\x80\x05\x95\x00\x00",  # a pickle cut short
    ],
)
def test_a_corrupt_cache_falls_back_to_yaml_and_is_rewritten(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, content: bytes
) -> None:
    where = vocabulary_cache.location()
    assert where is not None
    path, key = where
    path.parent.mkdir()
    path.write_bytes(content.replace(b"HEADER", vocabulary_cache._header(key)))
    lexicon = _from_yaml(monkeypatch)
    _same_concepts(default_lexicon(), lexicon)
    assert vocabulary_cache.load(path, key) is not None  # rewritten whole
    assert vocabulary_cache.load(path, key) is not None


def test_a_cache_of_other_content_is_not_used(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unpickled object of the wrong kind is ignored, not returned."""
    where = vocabulary_cache.location()
    assert where is not None
    path, key = where
    path.parent.mkdir()
    path.write_bytes(vocabulary_cache._header(key) + pickle.dumps(({}, [])))
    assert vocabulary_cache.load(path, key) is None
    path.write_bytes(vocabulary_cache._header(key) + pickle.dumps(build_aliases()))
    assert vocabulary_cache.load(path, key) is None
    assert len(default_lexicon()) > 0


def test_a_stale_cache_is_rebuilt_when_the_user_aliases_change(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_text("entities:\n  khujand-police: [УВД Согда]\n", encoding="utf-8")
    monkeypatch.setenv("WIREWATCH_ALIASES_FILE", str(extra))
    _clear()
    assert "khujand-police" in default_lexicon().concepts
    stored = _cache(data_dir).read_bytes()
    extra.write_text("entities:\n  dushanbe-police: [УВД Душанбе]\n", encoding="utf-8")
    _clear()
    lexicon = default_lexicon()
    assert "dushanbe-police" in lexicon.concepts
    assert "khujand-police" not in lexicon.concepts
    assert "khujand-police" not in default_aliases()
    assert _cache(data_dir).read_bytes() != stored


def test_a_changed_key_ignores_the_file(data_dir: Path) -> None:
    default_lexicon()
    path, key = vocabulary_cache.location() or (Path(), "")
    assert vocabulary_cache.load(path, key) is not None
    assert vocabulary_cache.load(path, "0" * 64) is None


def test_an_unreadable_user_alias_file_still_reports_the_error(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.errors import ConfigError

    monkeypatch.setenv("WIREWATCH_ALIASES_FILE", str(tmp_path / "missing.yaml"))
    _clear()
    with pytest.raises(ConfigError, match="cannot read alias file"):
        default_aliases()


def test_a_read_only_cache_directory_only_means_no_cache(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(*args: object, **kwargs: object) -> Any:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    lexicon = _from_yaml(monkeypatch)
    _same_concepts(default_lexicon(), lexicon)
    assert not _cache(data_dir).exists()
    assert not list(_cache(data_dir).parent.glob(".vocabulary-*"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only directories")
def test_a_read_only_data_directory_works(data_dir: Path) -> None:
    _cache(data_dir).parent.mkdir()
    _cache(data_dir).parent.chmod(0o500)
    try:
        assert len(default_lexicon()) > 0
        assert not _cache(data_dir).exists()
    finally:
        _cache(data_dir).parent.chmod(0o700)


def test_a_missing_data_directory_is_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIREWATCH_DATA_DIR", str(tmp_path / "nowhere"))
    _clear()
    try:
        assert len(default_lexicon()) > 0
        assert not (tmp_path / "nowhere").exists()
    finally:
        _clear()


def test_concurrent_writers_leave_one_whole_file(data_dir: Path) -> None:
    """Processes building at once each rename their own temporary file into place."""
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "WIREWATCH_DATA_DIR": str(data_dir), "PYTHONPATH": str(root)}
    code = "from core.lexicon import default_lexicon; default_lexicon()"
    writers = [subprocess.Popen([sys.executable, "-c", code], env=env, cwd=root) for _ in range(3)]
    assert [writer.wait(120) for writer in writers] == [0, 0, 0]
    path = _cache(data_dir)
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    where = vocabulary_cache.location()
    assert where is not None and where[0] == path
    assert vocabulary_cache.load(*where) is not None
