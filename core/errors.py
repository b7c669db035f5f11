"""Errors a user or operator can act on.

    WirewatchError
    ├── ConfigError            a setting is missing, malformed or contradictory
    ├── SourceError            a source definition is invalid (bad URL, blocked host)
    │   ├── BlockedURLError    the URL's scheme or resolved address is not allowed
    │   └── FetchError         no usable response within our limits (timeout, size, redirects)
    ├── QueryError             a topic or search query does not parse (has .position)
    ├── NotFoundError          a named source, topic, story or subscription does not exist
    ├── MigrationError         a schema migration would lose or break data: nothing changed
    ├── SchemaOutOfDateError   the database is not initialised or older than this version
    └── DeliveryError          a message could not be handed to the mail transport
        ├── TemporaryDeliveryError   retry later (429, 5xx, connection trouble)
        ├── UncertainDeliveryError   the transport may have taken it (answer lost): do not resend
        └── PermanentDeliveryError   do not retry (400, bad address)
            └── TransportAuthError   401/403: the whole run stops, the key is wrong

Every message names the value that was wrong, so the user can fix it without
reading a traceback.
"""

from __future__ import annotations

from core.translatable import Translatable, Translations


class WirewatchError(Exception):
    """Base of every error wirewatch raises on purpose.

    Raised with a ``Translatable``, the error reads in English (``str()``, for
    the CLI and the logs) and in the reader's language on a page or in an
    email (``localized()``); raised with a plain string, it reads the same in both.
    """

    def __init__(self, *args: object) -> None:
        self.text = args[0] if len(args) == 1 and isinstance(args[0], Translatable) else None
        super().__init__(*(str(arg) if isinstance(arg, Translatable) else arg for arg in args))

    def localized(self, translations: Translations) -> str:
        return self.text.render(translations) if self.text is not None else str(self)


class ConfigError(WirewatchError):
    """A setting is missing, malformed or contradictory."""


class SourceError(WirewatchError):
    """A source definition cannot be used."""


class BlockedURLError(SourceError):
    """A URL points at a scheme or network address that wirewatch refuses to fetch."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"refusing to fetch {url!r}: {reason}")
        self.url = url
        self.reason = reason


class FetchError(SourceError):
    """A URL could not be fetched within wirewatch's limits, or the network failed."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"could not fetch {url!r}: {reason}")
        self.url = url
        self.reason = reason


class QueryError(WirewatchError):
    """A query does not parse; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str | Translatable, query: str, position: int) -> None:
        pointer = " " * position + "^"
        super().__init__(f"{message} at position {position}\n  {query}\n  {pointer}")
        self.query = query
        self.position = position
        self.reason = str(message)
        self.reason_text = message if isinstance(message, Translatable) else Translatable(message)

    def localized(self, translations: Translations) -> str:
        head = Translatable.gettext(
            "%(reason)s at position %(position)s", reason=self.reason_text, position=self.position
        )
        pointer = " " * self.position + "^"
        return f"{head.render(translations)}\n  {self.query}\n  {pointer}"


class NotFoundError(WirewatchError):
    """A named object does not exist."""


class SchemaOutOfDateError(WirewatchError):
    """The database has not been initialised, or is older than this version of the code."""


class MigrationError(WirewatchError):
    """A schema migration stopped before it could lose or break data; it changed nothing."""


class DeliveryError(WirewatchError):
    """A message could not be handed to the mail transport."""


class TemporaryDeliveryError(DeliveryError):
    """Worth retrying later: rate limits, server errors, connection trouble."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UncertainDeliveryError(DeliveryError):
    """The request reached the transport but its answer was lost: it may have been sent.

    Resending could deliver the message twice (SendGrid has no idempotency
    key), so the message is recorded as ``unknown`` instead of being retried.
    """


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help: the request or the address is wrong."""


class TransportAuthError(PermanentDeliveryError):
    """The transport refused our credentials; every further send would fail too."""
