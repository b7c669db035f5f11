"""A secret generated once into the data folder and shared by every process from there.

Used where a setting may be left unset (the signing key, the admin token): the
first process to need it writes a fresh random value, and every later process,
or one racing it, reads the same value back.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path


def read_or_create_secret(path: Path, *, nbytes: int) -> str:
    """The secret in ``path``, written first (``nbytes`` random bytes, URL-safe) if missing.

    The value is written to a temporary file and synced before it is linked into
    place; ``link`` never replaces, so when two processes race, both end up
    with the winner's value and a crash never leaves a half-written secret.
    """
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(nbytes))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    finally:
        Path(temp).unlink(missing_ok=True)
    return path.read_text(encoding="utf-8").strip()
