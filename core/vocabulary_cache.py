"""The built alias table and lexicon, kept in a pickle so each process need not rebuild them.

Reading ``aliases.yaml`` and ``lexicon.yaml`` and building the lexicon (every
concept parsed, stemmed and filed in its look-up tables) costs about 0.3 s of
CPU, and every crawl, crawl worker, CLI and service process that matches or
groups stories pays it again. Unpickling the built objects costs about a tenth
of that. One file, ``<data_dir>/cache/vocabulary.pickle``, holds the alias
table and the lexicon together (the lexicon's concept trees share the alias
table's parsed entities, as after a build from YAML).

The file starts with a key line: a hash of the YAML files the objects were
built from (the bundled ones and ``WIREWATCH_ALIASES_FILE``), of the source of
the ``core`` package that builds them, and of the Python and stemmer versions.
A file whose key differs (stale), that does not unpickle or does not hold the
expected objects (corrupt, half-written by a crashed older writer) is ignored:
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
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.lexicon import Lexicon
    from core.query.aliases import AliasTable

log = logging.getLogger(__name__)

CACHE_DIR_NAME = "cache"
CACHE_FILE_NAME = "vocabulary.pickle"
# Bumped when the layout of the file changes.
FORMAT = b"wirewatch-vocabulary 1"
_CORE = Path(__file__).resolve().parent
LEXICON_FILE = _CORE / "data" / "lexicon.yaml"


@dataclass(frozen=True, slots=True)
class Vocabulary:
    aliases: AliasTable
    lexicon: Lexicon


# The one vocabulary this process loaded, by (file, key): default_aliases() and
# default_lexicon() must get the table and lexicon of one load.
_loaded: dict[tuple[Path, str], Vocabulary] = {}


def cache_file(data_dir: Path) -> Path:
    return data_dir / CACHE_DIR_NAME / CACHE_FILE_NAME


def location() -> tuple[Path, str] | None:
    """Where this process's settings keep the bundled vocabulary, and its key (None: no key)."""
    from core.query.aliases import DEFAULT_ALIASES_FILE
    from core.settings import get_settings

    settings = get_settings()
    sources = [DEFAULT_ALIASES_FILE, LEXICON_FILE]
    if settings.aliases_file is not None:
        sources.append(Path(settings.aliases_file))
    key = cache_key(sources)
    return None if key is None else (cache_file(settings.data_dir), key)


def cached() -> Vocabulary | None:
    """The vocabulary the cache holds for this process's settings, if it is there and sound."""
    where = location()
    return None if where is None else load(*where)


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


def load(path: Path, key: str) -> Vocabulary | None:
    """The vocabulary of ``path`` if it was built for ``key``; None when absent, stale or bad."""
    found = _loaded.get((path, key))
    if found is not None:
        return found
    header = _header(key)
    try:
        # Read whole, then unpickled from memory: about half the CPU of unpickling the stream.
        data = path.read_bytes()
        if not data.startswith(header):
            return None
        aliases, lexicon = pickle.loads(memoryview(data)[len(header) :])
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - any unreadable cache means: build from YAML
        log.warning("ignoring the vocabulary cache %s (%s); building from YAML", path, exc)
        return None
    from core.lexicon import Lexicon
    from core.query.aliases import AliasTable

    if not isinstance(aliases, AliasTable) or not isinstance(lexicon, Lexicon):
        log.warning("ignoring the vocabulary cache %s (unexpected content)", path)
        return None
    vocabulary = Vocabulary(aliases, lexicon)
    _loaded.clear()
    _loaded[(path, key)] = vocabulary
    return vocabulary


def store(path: Path, key: str, vocabulary: Vocabulary) -> None:
    """Write ``vocabulary`` for ``key``; a directory that cannot be written is left alone."""
    if not path.parent.parent.is_dir():  # the data directory is not created for a cache
        return
    data = _header(key) + pickle.dumps(
        (vocabulary.aliases, vocabulary.lexicon), protocol=pickle.HIGHEST_PROTOCOL
    )
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
        return
    _loaded.clear()
    _loaded[(path, key)] = vocabulary


def _header(key: str) -> bytes:
    return FORMAT + b" " + key.encode() + b"\n"
