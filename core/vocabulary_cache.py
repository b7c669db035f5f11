"""The built lexicon, kept in a pickle so each process need not rebuild it.

Building the lexicon (``lexicon.yaml`` read, every concept and every entity of
the alias table parsed, stemmed and filed in its look-up tables) costs about
0.15 s of CPU, and every crawl, CLI and service process that matches or
groups stories pays it again. Unpickling the built lexicon costs about a third
of that. It is kept in ``<data_dir>/cache/vocabulary.pickle``. The alias table
itself is not: read from YAML it costs less (under 0.01 s) than unpickling.

The file starts with a key line: a hash of the YAML files the lexicon was
built from (the bundled ones and ``WIREWATCH_ALIASES_FILE``), of the source of
the ``core`` package that builds them, and of the Python and stemmer versions.
A file whose key differs (stale), that does not unpickle or does not hold a
lexicon (corrupt, half-written by a crashed older writer) is ignored:
the process builds from YAML as before and writes the file anew. Writes go to
a temporary file renamed into place, so concurrent writers never leave a torn
file. A data directory that does not exist is not created for this, and one
that cannot be written (read-only) only means every process builds from YAML.

The file is a pickle: whoever can write the data directory can run code in
wirewatch's processes, as they can already read its secrets and database.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.lexicon import Lexicon

log = logging.getLogger(__name__)

CACHE_DIR_NAME = "cache"
CACHE_FILE_NAME = "vocabulary.pickle"
# Bumped when the layout of the file changes.
FORMAT = b"wirewatch-vocabulary 2"
_CORE = Path(__file__).resolve().parent
LEXICON_FILE = _CORE / "data" / "lexicon.yaml"


def cache_file(data_dir: Path) -> Path:
    return data_dir / CACHE_DIR_NAME / CACHE_FILE_NAME


def location() -> tuple[Path, str] | None:
    """Where this process's settings keep the bundled lexicon, and its key (None: no key)."""
    from core.query.aliases import DEFAULT_ALIASES_FILE
    from core.settings import get_settings

    settings = get_settings()
    sources = [DEFAULT_ALIASES_FILE, LEXICON_FILE]
    if settings.aliases_file is not None:
        sources.append(Path(settings.aliases_file))
    key = cache_key(sources)
    return None if key is None else (cache_file(settings.data_dir), key)


def cache_key(sources: list[Path]) -> str | None:
    """A hash of ``sources`` (the YAML files), the ``core`` code and the versions; None if
    a source cannot be read (the YAML path then reports it as it always did)."""
    digest = hashlib.sha256(FORMAT)
    digest.update(sys.version.encode())
    digest.update(_stemmer_version().encode())
    try:
        for path in sources:
            digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
        for path in sorted(_CORE.rglob("*.py")):
            digest.update(str(path.relative_to(_CORE)).encode() + b"\0" + path.read_bytes())
    except OSError:
        return None
    return digest.hexdigest()


def _stemmer_version() -> str:
    """The stemmer's version: its stems are in the lexicon's tables."""
    from importlib import metadata

    try:
        return metadata.version("snowballstemmer")
    except metadata.PackageNotFoundError:
        return "unknown"


def load(path: Path, key: str) -> Lexicon | None:
    """The lexicon in ``path`` if it was built for ``key``; None when absent, stale or bad.

    Read once per process: ``core.lexicon.default_lexicon`` keeps what it returns."""
    header = _header(key)
    try:
        # Read whole, then unpickled from memory: about half the CPU of unpickling the stream.
        data = path.read_bytes()
        if not data.startswith(header):
            return None
        lexicon = pickle.loads(memoryview(data)[len(header) :])
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - any unreadable cache means: build from YAML
        log.warning("ignoring the vocabulary cache %s (%s); building from YAML", path, exc)
        return None
    from core.lexicon import Lexicon

    if not isinstance(lexicon, Lexicon):
        log.warning("ignoring the vocabulary cache %s (unexpected content)", path)
        return None
    return lexicon


def store(path: Path, key: str, lexicon: Lexicon) -> None:
    """Write ``lexicon`` for ``key``; a directory that cannot be written is left alone."""
    if not path.parent.parent.is_dir():  # the data directory is not created for a cache
        return
    data = _header(key) + pickle.dumps(lexicon, protocol=pickle.HIGHEST_PROTOCOL)
    import tempfile  # only a process that built the lexicon writes it

    try:
        path.parent.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".vocabulary-", dir=path.parent)
    except OSError:
        return
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except OSError as exc:
        log.debug("vocabulary cache %s not written: %s", path, exc)
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _header(key: str) -> bytes:
    return FORMAT + b" " + key.encode() + b"\n"
