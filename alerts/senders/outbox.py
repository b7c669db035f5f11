"""The default transport: one ``.eml`` file per message in a folder.

Nothing leaves the machine, so a fresh install can run end to end and a user
can open the digests in any mail client before configuring a real transport.
Files appear atomically (written under a dot-name, then renamed), so a reader
watching the folder never sees half a message.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from core.errors import TemporaryDeliveryError

from alerts.senders.message import OutgoingMessage, SendResult
from alerts.senders.mime import build_mime, mime_bytes

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_ID_CHARS = 120


def outbox_filename(message: OutgoingMessage, now: datetime) -> str:
    """Sortable by time, unique by message id, safe on every filesystem."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{_safe_id(message.message_id)}.eml"


def _safe_id(message_id: str) -> str:
    return _UNSAFE.sub("_", message_id.strip("<>"))[:_MAX_ID_CHARS].strip("._") or "message"


class OutboxSender:
    """Writes each message to ``directory`` (created on first use)."""

    name = "outbox"

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def send(self, message: OutgoingMessage) -> SendResult:
        data = mime_bytes(build_mime(message))
        target = self.directory / outbox_filename(message, datetime.now(UTC))
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _write_atomically(target, data)
        except OSError as exc:
            # A full disk or a wrong permission is fixed by the operator, and the
            # message should then still go out: hence temporary, not permanent.
            raise TemporaryDeliveryError(
                f"cannot write to the outbox folder {self.directory}: {exc.strerror or exc}"
            ) from exc
        return SendResult(transport=self.name, provider_id=target.name)

    def was_delivered(self, message_id: str) -> bool:
        """Whether a message with this id (or file name) is in the folder.

        Lets a run after a crash tell "written, then killed" from "killed before
        writing", which no network transport can.
        """
        if not self.directory.is_dir():
            return False
        if message_id.endswith(".eml"):
            return (self.directory / message_id).is_file()
        suffix = f"-{_safe_id(message_id)}.eml"
        return any(path.name.endswith(suffix) for path in self.directory.glob("*.eml"))


def _write_atomically(target: Path, data: bytes) -> None:
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
